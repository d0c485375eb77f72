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
