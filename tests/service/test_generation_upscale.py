"""POST /v1/upscale through the generation app: the tiny x4 upscaler (GENERATION_UPSCALER) with the
repeat's padding, Lanczos without one, the pixel cap and budget, and the gateway's client."""

import asyncio
import base64
import io

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from gateway.clients import GenerationClient
from services.common.contracts.generation import UpscaleRequest
from services.common.repeats import SEAMLESS_REPEATS, seam_ratio
from services.common.upscaling import lanczos_upscale
from tests.conftest import wait_ready
from tests.helpers import assert_envelope, b64, image_bytes
from tests.unit.test_upscaling import seamless_tile

QUICK = {"steps": 3, "seed": 4}


def tile_b64(repeat: str = "full", size: int = 32) -> str:
    return b64(image_bytes(Image.fromarray(seamless_tile(repeat, size, size))))


def pixels(b64_png: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(b64_png))).convert("RGB"))


@pytest.fixture(scope="module")
def settings(tiny_models):
    from services.generation.config import GenerationSettings

    return GenerationSettings(
        model=str(tiny_models["sd"]),
        upscaler=str(tiny_models["upscaler"]),
        max_image_pixels=512 * 512,
        decode_wait_s=0.2,
    )


@pytest.fixture(scope="module")
def upscaling_client(settings):
    from services.generation.app import create_app

    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        wait_ready(client)
        yield client


def upscale(client, **body) -> dict:
    answer = client.post("/v1/upscale", json=body)
    assert answer.status_code == 200, answer.text
    return answer.json()


@pytest.mark.parametrize("repeat", SEAMLESS_REPEATS)
def test_without_an_upscaler_lanczos_keeps_the_seam(generation_client, repeat):
    body = upscale(generation_client, image=tile_b64(repeat), repeat=repeat, width=150, height=124)
    assert (body["method"], body["model"], body["width"], body["height"]) == (
        "lanczos",
        None,
        150,
        124,
    )
    image = pixels(body["image"])
    assert image.shape == (124, 150, 3) and seam_ratio(image, repeat) <= 1.1
    expected = lanczos_upscale(seamless_tile(repeat), repeat, 150, 124)
    np.testing.assert_array_equal(image, expected)  # PNG is lossless: the function's own bytes
    assert generation_client.get("/readyz").json()["upscaler"] == {"method": "lanczos"}


@pytest.mark.parametrize("repeat", [*SEAMLESS_REPEATS, "none"])
def test_the_upscaler_runs_with_the_repeat_and_answers_the_exact_size(
    upscaling_client, tiny_models, repeat
):
    body = upscale(upscaling_client, image=tile_b64(repeat), repeat=repeat, factor=4, **QUICK)
    assert (body["method"], body["model"], body["seed"]) == (
        "diffusion",
        str(tiny_models["upscaler"]),
        4,
    )
    assert pixels(body["image"]).shape == (128, 128, 3)
    again = upscale(upscaling_client, image=tile_b64(repeat), repeat=repeat, factor=4, **QUICK)
    assert again["image"] == body["image"]  # one seed, one image
    sized = upscale(
        upscaling_client, image=tile_b64(repeat), repeat=repeat, width=150, height=124, **QUICK
    )
    assert pixels(sized["image"]).shape == (124, 150, 3)
    if repeat != "full":  # the repeat reaches the convolutions: other neighbours, other pixels
        full = upscale(upscaling_client, image=tile_b64(repeat), repeat="full", factor=4, **QUICK)
        assert full["image"] != body["image"]


def test_mirror_and_shrinking_use_lanczos_and_readyz_describes_the_upscaler(
    upscaling_client, tiny_models
):
    mirror = upscale(upscaling_client, image=tile_b64(), repeat="mirror", factor=2)
    assert mirror["method"] == "lanczos" and mirror["seed"] is None
    assert upscale(upscaling_client, image=tile_b64(), width=16, height=16)["method"] == "lanczos"
    described = upscaling_client.get("/readyz").json()["upscaler"]
    assert described["method"] == "diffusion" and described["factor"] == 4
    assert described["model"] == str(tiny_models["upscaler"])


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"factor": 2, "width": 64, "height": 64}, "not both"),
        ({"width": 64}, "give `width` and `height`"),
        ({"factor": 0}, "factor"),
        ({"factor": 9}, "factor"),
        ({"repeat": "diagonal", "factor": 2}, "repeat"),
        ({"repeat": "half_drop", "width": 64, "height": 63}, "even height"),
        ({"repeat": "half_brick", "width": 63, "height": 64}, "even width"),
        ({"width": 1024, "height": 1024}, "pixel cap of 262144 pixels"),
        ({"factor": 2, "noise_level": 400}, "noise_level"),
    ],
)
def test_bad_upscale_requests_are_422(upscaling_client, body, needle):
    answer = upscaling_client.post("/v1/upscale", json={"image": tile_b64("half_drop"), **body})
    assert needle in assert_envelope(answer, 422, "validation")["message"]


def test_a_non_image_is_refused_and_a_spent_pixel_budget_is_429(upscaling_client, settings):
    text = b64(b"No.,Motif\n1,Sekar\n")
    assert_envelope(
        upscaling_client.post("/v1/upscale", json={"image": text, "factor": 2}),
        415,
        "unsupported_media",
    )
    budget = settings.image_limits.budget
    with budget.hold(budget.capacity):  # other requests hold every decoded pixel
        answer = upscaling_client.post("/v1/upscale", json={"image": tile_b64(), "factor": 2})
        assert_envelope(answer, 429, "overloaded")
        assert answer.headers["retry-after"]
    assert budget.held == 0
    assert (
        upscaling_client.post("/v1/upscale", json={"image": tile_b64(), "factor": 2}).status_code
        == 200
    )


def test_the_gateway_client_upscales_and_keeps_the_envelope(upscaling_client):
    async def call(request):
        client = GenerationClient(
            "generation", "http://generation", read_timeout_s=60, connect_timeout_s=5, retries=0,
            transport=httpx.ASGITransport(upscaling_client.app),
        )  # fmt: skip
        try:
            return await client.upscale(request)
        finally:
            await client.aclose()

    answer = asyncio.run(
        call(
            UpscaleRequest(
                image=tile_b64("half_brick"),
                repeat="half_brick",
                width=128,
                height=96,
                seed=2,
                steps=3,
            )
        )
    )
    assert (answer.method, answer.width, answer.height, answer.repeat) == (
        "diffusion",
        128,
        96,
        "half_brick",
    )
    assert pixels(answer.image).shape == (96, 128, 3)
    from services.common.errors import ServiceError

    with pytest.raises(ServiceError) as refused:
        asyncio.run(call(UpscaleRequest(image=tile_b64(), repeat="half_drop", width=64, height=63)))
    assert refused.value.type == "validation" and "even height" in refused.value.message
