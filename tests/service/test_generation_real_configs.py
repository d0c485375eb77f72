"""The generation service serving SD 1.5 and its Canny ControlNet built from the published hub
configs (tiny width, random weights, hub layout), over HTTP."""

import pytest
from fastapi.testclient import TestClient

from tests.conftest import wait_ready
from tests.helpers import b64, image_bytes
from tests.unit.test_canny import square


@pytest.fixture(scope="module")
def client(real_config_sd):
    from services.generation.app import create_app
    from services.generation.config import GenerationSettings

    settings = GenerationSettings(
        model=str(real_config_sd["sd"]), controlnet=str(real_config_sd["controlnet"])
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        wait_ready(client)
        yield client


def test_readyz_describes_the_real_layout(client):
    ready = client.get("/readyz").json()
    assert ready["scheduler"] == "pndm" and ready["dtype"] == "float32"
    assert ready["model_version"].startswith("sd@") and "+controlnet@" in ready["model_version"]


def test_img2img_with_the_controlnet_and_txt2img_are_served(client):
    reference = b64(image_bytes(square(255)))
    body = {"prompt": "batik nitik dotted flower", "width": 64, "height": 64, "steps": 4, "seed": 2}
    guided = client.post(
        "/v1/generate",
        json={**body, "init_image": reference, "strength": 0.75, "control_scale": 1.0},
    )
    assert guided.status_code == 200, guided.text
    assert guided.json()["mode"] == "img2img" and guided.json()["control_scale"] == 1.0
    plain = client.post("/v1/generate", json={**body, "init_image": reference, "strength": 0.75})
    assert plain.status_code == 200 and plain.json()["images"] != guided.json()["images"]
    txt2img = client.post("/v1/generate", json=body)
    assert txt2img.status_code == 200 and txt2img.json()["mode"] == "txt2img"


@pytest.mark.parametrize("repeat", ["half_drop", "half_brick"])
def test_offset_repeats_on_sd15_s_layout_need_whole_offsets_at_every_level(client, repeat):
    """SD 1.5's UNet halves the 8x latents three times: a half offset is whole at every level for
    multiples of 128 px (the ControlNet's conditioning encoder pads with the repeat too)."""
    from services.common.repeats import seam_ratio
    from tests.service.test_generation_pakem import pixels

    body = {"prompt": "batik nitik", "width": 128, "height": 128, "steps": 3, "seed": 1}
    body |= {
        "tile": True,
        "repeat": repeat,
        "init_image": b64(image_bytes(square(128))),
        "strength": 0.75,
    }
    answer = client.post("/v1/generate", json={**body, "control_scale": 1.0})
    assert answer.status_code == 200, answer.text
    assert seam_ratio(pixels(answer.json()["images"][0]), repeat) <= 1.1
    side = "height" if repeat == "half_drop" else "width"
    refused = client.post("/v1/generate", json={**body, side: 192})
    assert refused.status_code == 422 and "multiple of 128 px" in refused.json()["error"]["message"]
