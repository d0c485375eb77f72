"""The adapter `batik finetune` writes is served by the captioning service and used through the gateway."""

from __future__ import annotations

import base64

import pytest
from fastapi.testclient import TestClient

from tests.conftest import wait_ready
from tests.helpers import gateway_app


@pytest.fixture(scope="module")
def finetuned_root(tmp_path_factory, synthetic_index, tiny_models):
    from services.cli import main

    root = tmp_path_factory.mktemp("served-adapters")
    code = main(
        [
            "finetune",
            "--index", str(synthetic_index),
            "--out", str(root / "nitik-ft"),
            "--model", str(tiny_models["blip2"]),
            "--epochs", "2",
            "--lr", "5e-2",
            "--warmup-steps", "1",
            "--limit", "8",
            "--max-target-tokens", "8",
            "--max-new-tokens", "4",
            "--no-progress",
        ]
    )  # fmt: skip
    assert code == 0
    return root


@pytest.fixture(scope="module")
def finetuned_captioning(tiny_models, finetuned_root):
    from services.captioning.app import create_app
    from services.captioning.config import CaptioningSettings

    settings = CaptioningSettings(
        model=str(tiny_models["blip2"]),
        adapters_dir=str(finetuned_root),
        adapter="nitik-ft",
        min_caption_words=1,  # the tiny model's captions are short noise; any word is a caption here
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        wait_ready(client)
        yield client


def test_the_finetuned_adapter_is_listed_with_its_training_report(finetuned_captioning):
    body = finetuned_captioning.get("/v1/adapters").json()
    [adapter] = body["adapters"]
    assert adapter["name"] == body["default"] == "nitik-ft" and adapter["merged"]
    assert set(adapter["training"]["metrics"]) == {"before", "after"}
    assert finetuned_captioning.get("/readyz").json()["adapter"] == "nitik-ft"


def test_the_gateway_captions_with_the_finetuned_adapter(
    tiny_models, retrieval_client, generation_client, finetuned_captioning
):
    apps = {
        "retrieval": retrieval_client.app,
        "captioning": finetuned_captioning.app,
        "generation": generation_client.app,
    }
    app = gateway_app(tiny_models, apps)
    with TestClient(app, raise_server_exceptions=False) as gateway:
        wait_ready(gateway)
        answer = gateway.post("/v1/rag", json={"text": "kawung", "generate": False})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["degraded"] == []
    [caption] = body["captions"]
    reference = retrieval_client.get(f"/v1/images/{caption['reference_id']}?size=512").content
    image = base64.b64encode(reference).decode()

    def direct(adapter: str | None) -> dict:
        request = {"image": image, **({"adapter": adapter} if adapter else {})}
        return finetuned_captioning.post("/v1/caption", json=request).json()

    tuned, base = direct(None), direct("none")
    assert tuned["adapter"] == "nitik-ft" and base["adapter"] is None
    assert caption["text"] == tuned["caption"]  # the gateway's caption is the adapter's
    assert tuned["caption"] != base["caption"]  # and the adapter really changed it
