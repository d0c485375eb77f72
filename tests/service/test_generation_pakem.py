"""Pakem through the generation API: seamless tiles, symmetry groups, ControlNet on the edges."""

import base64
import io
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from services.common.repeats import SEAMLESS_REPEATS, seam_ratio
from services.generation.pakem import project_array, symmetry_error
from tests.conftest import wait_ready
from tests.helpers import assert_envelope, b64, image_bytes

BASE = {"prompt": "batik nitik dotted flower", "width": 64, "height": 64, "steps": 8, "seed": 5}


def four_fold_reference() -> Image.Image:
    """Rotationally four-fold symmetric (c4) but not mirror symmetric."""
    rng = np.random.default_rng(2)
    quarter = np.pad(rng.uniform(0, 255, (32, 32)), ((0, 32), (0, 32)))
    motif = sum(np.rot90(quarter, k) for k in range(4))
    gray = np.clip(motif, 0, 255).astype(np.uint8)
    return Image.fromarray(np.stack([gray] * 3, axis=-1))


def pixels(b64_png: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(b64_png))).convert("RGB"), float)


def generate(client, **overrides) -> dict:
    answer = client.post("/v1/generate", json={**BASE, **overrides})
    assert answer.status_code == 200, answer.text
    return answer.json()


@pytest.fixture(scope="module")
def controlled_client(tiny_models):
    from services.generation.app import create_app
    from services.generation.config import GenerationSettings

    settings = GenerationSettings(
        model=str(tiny_models["sd"]), controlnet=str(tiny_models["controlnet"])
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        wait_ready(client)
        yield client


def test_tile_is_seamless_and_reported(generation_client):
    body = generate(generation_client, tile=True)
    assert body["tile"] is True and body["repeat"] == "full"  # today's clients: the full drop
    assert seam_ratio(pixels(body["images"][0])) <= 1.1
    assert generate(generation_client)["repeat"] is None


@pytest.mark.parametrize("repeat", SEAMLESS_REPEATS)
@pytest.mark.parametrize("mode", ["txt2img", "img2img"])
def test_each_repeat_is_seamless_across_its_own_seams(generation_client, repeat, mode):
    init = {"init_image": b64(image_bytes(four_fold_reference())), "strength": 0.7}
    body = generate(
        generation_client, tile=True, repeat=repeat, **(init if mode == "img2img" else {})
    )
    assert (body["tile"], body["repeat"], body["mode"]) == (True, repeat, mode)
    assert seam_ratio(pixels(body["images"][0]), repeat) <= 1.1
    if repeat != "full":  # the offset wrap is a different computation from the plain torus
        full = generate(generation_client, tile=True, **(init if mode == "img2img" else {}))
        assert full["images"] != body["images"]


@pytest.mark.parametrize("group", ["c4", "d4"])
def test_symmetry_group_is_kept(generation_client, group):
    plain = pixels(generate(generation_client)["images"][0])
    body = generate(generation_client, symmetry=group)
    assert body["symmetry"] == group
    assert symmetry_error(pixels(body["images"][0]), group) <= 1.0
    assert symmetry_error(plain, group) > 5


def test_symmetry_with_img2img(generation_client):
    init = b64(image_bytes(four_fold_reference()))
    body = generate(generation_client, init_image=init, strength=0.6, symmetry="d4")
    assert body["mode"] == "img2img"
    assert symmetry_error(pixels(body["images"][0]), "d4") <= 1.0


def test_auto_measures_the_reference(generation_client):
    c4 = generate(
        generation_client, init_image=b64(image_bytes(four_fold_reference())), symmetry="auto"
    )
    assert c4["symmetry"] == "c4"
    assert c4["symmetry_scores"]["c4"] < c4["symmetry_scores"]["d4"]
    noise = Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8))
    none = generate(generation_client, init_image=b64(image_bytes(noise)), symmetry="auto")
    assert none["symmetry"] == "none" and set(none["symmetry_scores"]) == {"c2", "c4", "d4"}
    assert generate(generation_client, symmetry="auto")["symmetry"] == "none"  # no reference


def test_tile_and_plain_requests_concurrently_equal_alone(generation_client):
    alone = {
        "tile": generate(generation_client, tile=True, symmetry="c4")["images"],
        "plain": generate(generation_client)["images"],
    }
    requests = [("tile", {"tile": True, "symmetry": "c4"}), ("plain", {})] * 3
    # Two at a time: the service admits two (one running, one waiting for the pipeline lock).
    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(pool.map(lambda r: (r[0], generate(generation_client, **r[1])), requests))
    for kind, body in answers:
        assert body["images"] == alone[kind], kind


def test_controlnet_acts_and_scale_zero_is_no_controlnet(controlled_client):
    reference = b64(image_bytes(four_fold_reference()))
    img2img = {"init_image": reference, "strength": 0.6}
    without = generate(controlled_client, **img2img)["images"]
    zero = generate(controlled_client, **img2img, control_scale=0.0)
    one = generate(controlled_client, **img2img, control_scale=1.0)
    assert zero["images"] == without
    assert one["images"] != without and one["control_scale"] == 1.0
    # Without img2img: txt2img guided by the control image's edges.
    plain = generate(controlled_client)["images"]
    guided = generate(controlled_client, control_image=reference, control_scale=1.0)
    assert guided["mode"] == "txt2img" and guided["images"] != plain


@pytest.mark.parametrize(
    ("overrides", "needle"),
    [
        ({"symmetry": "c6"}, "symmetry"),
        ({"symmetry": "c4", "width": 72}, "square"),
        (
            {"control_scale": 2.5, "init_image": b64(image_bytes(four_fold_reference()))},
            "control_scale",
        ),
        ({"control_scale": 1.0}, "control_image"),
        ({"tile": True, "repeat": "mirror"}, "repeat"),
        ({"repeat": "half_drop"}, "set tile: true too"),
        # The tiny UNet halves the 8x latents once: the half drop needs a multiple of 32 px.
        ({"tile": True, "repeat": "half_drop", "height": 72}, "height that is a multiple of 32"),
        ({"tile": True, "repeat": "half_brick", "width": 80}, "width that is a multiple of 32"),
        (
            {"control_scale": 1.0, "init_image": b64(image_bytes(four_fold_reference()))},
            "no ControlNet",
        ),
    ],
)
def test_bad_pakem_values_are_422(generation_client, overrides, needle):
    error = assert_envelope(
        generation_client.post("/v1/generate", json={**BASE, **overrides}), 422, "validation"
    )
    assert needle in error["message"]


def test_projection_helper_matches_the_service_contract():
    # The service reports errors on the same 0-255 scale the helper measures.
    array = np.asarray(four_fold_reference(), float)
    assert symmetry_error(project_array(array, "d4"), "d4") < 1e-9
