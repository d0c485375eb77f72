import base64
import io

import numpy as np
import pytest
from PIL import Image

from tests.helpers import assert_envelope, b64, bad_image_corpus, image_bytes


def reference_image() -> Image.Image:
    """A structured 64 px motif: dark dots on cream, so distances to it are meaningful."""
    image = Image.new("RGB", (64, 64), (236, 222, 196))
    pixels = image.load()
    for x in range(0, 64, 8):
        for y in range(0, 64, 8):
            for dx in range(3):
                for dy in range(3):
                    pixels[x + dx, y + dy] = (92, 52, 28)
    return image


REFERENCE = reference_image()
BASE = {"prompt": "batik nitik dotted flower", "width": 64, "height": 64, "steps": 10, "seed": 7}


def decode(b64_png: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(b64_png))).convert("RGB"), dtype=float)


def generate(client, **overrides) -> dict:
    answer = client.post("/v1/generate", json={**BASE, **overrides})
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_same_seed_same_bytes(generation_client):
    init = b64(image_bytes(REFERENCE))
    first = generate(generation_client, init_image=init)
    second = generate(generation_client, init_image=init)
    assert first["images"] == second["images"]
    assert first["seed"] == 7 and first["mode"] == "img2img"
    assert generate(generation_client, init_image=init, seed=8)["images"] != first["images"]


def test_img2img_departs_further_as_strength_grows(generation_client):
    """The tiny VAE is random, so pixels are compared with the lowest-strength output (one
    denoising step: the reference's own VAE round trip) rather than with the reference itself."""
    init = b64(image_bytes(REFERENCE))
    outputs = {
        strength: decode(
            generate(generation_client, init_image=init, strength=strength)["images"][0]
        )
        for strength in (0.1, 0.3, 0.6)
    }
    closest = outputs[0.1]
    distances = [float(np.abs(outputs[s] - closest).mean()) for s in (0.3, 0.6)]
    assert 1.0 < distances[0] < distances[1], distances


def test_img2img_really_uses_the_init_image(generation_client):
    """Two different references at low strength give different outputs (the seed's txt2img bug)."""
    a = generate(generation_client, init_image=b64(image_bytes(REFERENCE)), strength=0.3)
    b = generate(
        generation_client,
        init_image=b64(image_bytes(Image.new("RGB", (64, 64), (20, 30, 120)))),
        strength=0.3,
    )
    assert a["images"] != b["images"]


def test_txt2img_without_init_image(generation_client):
    body = generate(generation_client, width=72, height=64)
    assert body["mode"] == "txt2img"
    assert decode(body["images"][0]).shape == (64, 72, 3)
    assert body["prompt_tokens"] > 2 and body["truncated"] is False


def test_random_seed_is_reported_and_reproduces(generation_client):
    body = {k: v for k, v in BASE.items() if k != "seed"}
    first = generation_client.post("/v1/generate", json=body).json()
    again = generate(generation_client, seed=first["seed"])
    assert again["images"] == first["images"]


def test_long_prompt_is_encoded_in_chunks(generation_client):
    """Past 77 tokens the prompt is encoded in windows: the words at its end change the image."""
    head = " ".join(["kawung"] * 120)
    body = generate(generation_client, prompt=f"{head} parang")
    assert body["prompt_tokens"] > 77 and body["prompt_chunks"] == 2
    assert body["truncated"] is False
    assert generate(generation_client, prompt=f"{head} sekar")["images"] != body["images"]


def test_prompt_past_the_chunk_limit_is_cut_and_reported(generation_client):
    head = " ".join(["kawung"] * 240)  # more than GENERATION_MAX_PROMPT_CHUNKS=3 windows
    body = generate(generation_client, prompt=f"{head} parang")
    assert body["truncated"] is True and body["prompt_chunks"] == 3
    assert generate(generation_client, prompt=f"{head} sekar")["images"] == body["images"]


@pytest.mark.parametrize(
    ("overrides", "needle"),
    [
        ({"width": 100}, "multiple of 8"),
        ({"height": 68}, "multiple of 8"),
        ({"steps": 3, "strength": 0.2, "init_image": b64(image_bytes(REFERENCE))}, "no denoising"),
        ({"strength": 2}, "strength"),
        ({"strength": 0}, "strength"),
        ({"steps": 0}, "steps"),
        ({"guidance_scale": -1}, "guidance_scale"),
        ({"prompt": ""}, "prompt"),
        ({"prompt": "   "}, "blank"),
        ({"seed": -1}, "seed"),
        ({"width": 4096}, "width"),
    ],
)
def test_unrunnable_requests_are_422(generation_client, overrides, needle):
    error = assert_envelope(
        generation_client.post("/v1/generate", json={**BASE, **overrides}), 422, "validation"
    )
    assert needle in error["message"]


def test_an_engine_value_error_is_a_422_not_a_500(tiny_models):
    # The settings name a ControlNet, so the route's check lets control_scale through; the engine
    # this loader builds has none, and its own check (a ValueError) refuses: errors.py's 422.
    from fastapi.testclient import TestClient

    from services.generation.app import create_app
    from services.generation.config import GenerationSettings
    from services.generation.generator import SdGenerator
    from tests.conftest import wait_ready

    settings = GenerationSettings(model=str(tiny_models["sd"]), controlnet="configured-elsewhere")
    loader = lambda s: SdGenerator(s.model)  # noqa: E731
    with TestClient(create_app(settings, loader), raise_server_exceptions=False) as client:
        wait_ready(client)
        body = {**BASE, "control_scale": 0.5, "init_image": b64(image_bytes(REFERENCE))}
        error = assert_envelope(client.post("/v1/generate", json=body), 422, "validation")
        assert "no ControlNet is loaded" in error["message"]


@pytest.mark.parametrize(("name", "case"), bad_image_corpus().items())
def test_bad_init_images(generation_client, name, case):
    payload, status, kind = case
    answer = generation_client.post("/v1/generate", json={**BASE, "init_image": payload})
    assert_envelope(answer, status, kind)


def test_readyz_reports_the_dtype_of_the_loaded_components(tiny_models):
    """A float16 engine says float16 and runs float16 (diffusers' `from_pipe` used to cast its
    shared components to float32 behind the reported dtype)."""
    import torch
    from fastapi.testclient import TestClient

    from services.generation.app import create_app
    from services.generation.config import GenerationSettings
    from tests.conftest import wait_ready

    settings = GenerationSettings(
        model=str(tiny_models["sd"]), device="cpu", dtype="float16", warmup=False
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        wait_ready(client)
        assert client.get("/readyz").json()["dtype"] == "float16"
        engine = client.app.state.engine
        for pipe in (engine.img2img, engine.txt2img):
            for module in (pipe.unet, pipe.vae, pipe.text_encoder):
                assert module.dtype == torch.float16
        answer = client.post(
            "/v1/generate", json={**BASE, "init_image": b64(image_bytes(REFERENCE))}
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["mode"] == "img2img"
