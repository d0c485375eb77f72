"""Issue 16, finding 7: every service decodes uploads in a worker thread, never on its event loop
(8 concurrent 4096x4096 uploads stalled the gateway's /healthz by 1.56 s, an 8-image caption batch
captioning's by 5.7 s). Each decode Pillow runs is recorded with whether its thread runs an event loop.
"""

from __future__ import annotations

import asyncio
import threading

import pytest
from fastapi.testclient import TestClient
from PIL import Image, ImageFile

from tests.conftest import wait_ready
from tests.helpers import b64, gateway_app, image_bytes

PNG = b64(image_bytes(Image.new("RGB", (96, 80), (180, 90, 40)), "PNG"))


@pytest.fixture
def decodes(monkeypatch) -> list[tuple[str, bool]]:
    """(thread name, whether that thread was running an event loop) for every Pillow decode."""
    seen: list[tuple[str, bool]] = []
    real_load = ImageFile.ImageFile.load

    def load(self):
        try:
            asyncio.get_running_loop()
            on_loop = True
        except RuntimeError:
            on_loop = False
        seen.append((threading.current_thread().name, on_loop))
        return real_load(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)
    return seen


def _assert_off_loop(seen: list[tuple[str, bool]]) -> None:
    assert seen, "no image was decoded: the request did not reach the decoder"
    on_loop = [name for name, looping in seen if looping]
    assert not on_loop, f"decoded on an event loop thread: {on_loop}"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/search", {"image": PNG, "top_k": 1}),
        ("/v1/embed", {"images": [PNG, PNG]}),
    ],
)
def test_retrieval_decodes_off_the_loop(retrieval_client, decodes, path, body):
    assert retrieval_client.post(path, json=body).status_code == 200
    _assert_off_loop(decodes)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/caption", {"image": PNG, "max_new_tokens": 4}),
        ("/v1/caption", {"images": [PNG, PNG], "max_new_tokens": 4}),
        ("/v1/vqa", {"image": PNG, "question": "what motif?", "max_new_tokens": 4}),
    ],
)
def test_captioning_decodes_off_the_loop(captioning_client, decodes, path, body):
    assert captioning_client.post(path, json=body).status_code == 200
    _assert_off_loop(decodes)


def test_generation_decodes_off_the_loop(generation_client, decodes):
    body = {
        "prompt": "kawung",
        "init_image": PNG,
        "steps": 2,
        "strength": 0.5,
        "width": 64,
        "height": 64,
    }
    assert generation_client.post("/v1/generate", json=body).status_code == 200
    _assert_off_loop(decodes)


def test_gateway_decodes_off_the_loop(
    tiny_models, retrieval_client, captioning_client, generation_client, decodes
):
    apps = {
        "retrieval": retrieval_client.app,
        "captioning": captioning_client.app,
        "generation": generation_client.app,
    }
    with TestClient(gateway_app(tiny_models, apps), raise_server_exceptions=False) as client:
        wait_ready(client)
        answer = client.post("/v1/rag", json={"image": PNG, "generate": False})
        assert answer.status_code == 200, answer.text
    _assert_off_loop(decodes)
