"""What a saved design records (gateway/saving.py), and the settings that turn the library off."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from gateway.config import GatewaySettings
from gateway.saving import provenance
from services.common.contracts.gateway import RagRequest, RagResponse

ANSWER = {
    "references": [
        {
            "id": 3,
            "score": 0.91,
            "motif": {"number": 12, "name": "Sekar Kemuning"},
            "file": "12 Sekar Kemuning 1.jpg",
            "instance": 1,
            "rotation": 0,
        }
    ],
    "captions": [{"reference_id": 3, "text": "a brown flower"}],
    "prompt": {
        "text": "sekar bunga, Batik Nitik Sekar Kemuning",
        "parts": [{"source": "query", "text": "sekar bunga", "tokens": 3, "kept": "full"}],
        "tokens": 12,
        "truncated": True,
        "cut": ["a long fact"],
    },
    "images": ["iVBORw0KGgo="],
    "seed": 7,
    "mode": "img2img",
    "model": "sd-tiny",
    "scheduler": "pndm",
    "symmetry": "d4",
    "symmetry_scores": {"d4": 1.5},
    "timings_ms": {"retrieval": 3.0, "generation": 40.0, "total": 50.0},
    "cache": {"hit": False, "key": "k"},
    "degraded": [],
}


def test_provenance_records_what_repeats_the_design():
    request = RagRequest(text="sekar bunga", seed=7, steps=20, strength=0.6, symmetry="d4")
    answer = RagResponse.model_validate(ANSWER)
    versions = {"retrieval": "clip1+rank|idx-42", "captioning": "blip1", "generation": "sd1"}
    made = provenance(request, answer, versions, 0)
    assert made["request"]["text"] == "sekar bunga" and "save" not in made["request"]
    assert RagRequest.model_validate(made["request"]) == request.model_copy(update={"save": True})
    assert made["references"][0]["motif"] == {
        "number": 12,
        "name": "Sekar Kemuning",
        "description_id": "",
        "description_en": "",
        "philosophy": "",
    }
    assert made["index_version"] == "idx-42"
    assert made["prompt"]["cut"] == ["a long fact"]
    assert (made["seed"], made["steps"], made["strength"], made["scheduler"]) == (
        7,
        20,
        0.6,
        "pndm",
    )
    assert made["symmetry_scores"] == {"d4": 1.5}
    assert made["versions"]["model"] == "sd-tiny" and made["versions"]["captioning"] == "blip1"
    assert made["timings_ms"]["generation"] == 40.0
    assert made["query_image"] is False


def test_a_query_image_is_not_kept_only_noted():
    request = RagRequest(image="iVBORw0KGgo=", seed=1)
    made = provenance(request, RagResponse.model_validate(ANSWER), {}, 0)
    assert "image" not in made["request"] and made["query_image"] is True


@pytest.mark.parametrize(
    ("value", "url"), [("off", None), ("none", None), ("http://l:1", "http://l:1")]
)
def test_the_library_can_be_turned_off(value, url):
    assert GatewaySettings(library_url=value).library_base_url == url


def test_admin_keys_are_hashes_never_keys():
    with pytest.raises(ValidationError):
        GatewaySettings(admin_keys="plain-key")
    digest = "a" * 64
    assert GatewaySettings(admin_keys=f"sha256:{digest}").admin_key_hashes == [digest]


def test_provenance_records_the_styles():
    request = RagRequest(text="kawung", seed=7, styles=[{"name": "nitik", "scale": 0.5}])
    applied = [{"name": "nitik", "scale": 0.5, "version": "nitik@abc"}]
    answer = RagResponse.model_validate(
        {**ANSWER, "styles": applied, "model_version": "sd1+nitik@abc:0.5"}
    )
    made = provenance(request, answer, {}, 0)
    assert made["request"]["styles"] == [{"name": "nitik", "scale": 0.5}]
    assert made["styles"] == applied
    assert made["versions"]["model_version"] == "sd1+nitik@abc:0.5"
    assert RagRequest.model_validate(made["request"]).style_choices()[0].scale == 0.5
