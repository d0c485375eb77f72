"""Styles served by name: listing, scale 0 = none, blends, no bleed between concurrent requests,
reload without a restart, refusals (another base model, corrupt weights), the fused default, previews.

The styles are tiny random LoRAs in the format `batik finetune-style` writes (services/common/tiny.py);
tests/unit/test_finetune_style.py checks that a trained one loads the same way."""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from fastapi.testclient import TestClient

from tests.conftest import wait_ready
from tests.helpers import assert_envelope
from tests.service.conftest import STYLE_ADMIN_TOKEN as TOKEN

BASE = {"prompt": "batik nitik motif, kawung", "width": 64, "height": 64, "steps": 4, "seed": 3}


@pytest.fixture(scope="module")
def client(styled_generation_client):
    return styled_generation_client


def styled_app(tiny_models, style_folders, **overrides):
    from tests.service.conftest import styled_generation_app

    return styled_generation_app(tiny_models, style_folders, **overrides)


def generate(client, **overrides) -> dict:
    answer = client.post("/v1/generate", json={**BASE, **overrides})
    assert answer.status_code == 200, answer.text
    return answer.json()


def pixels(body: dict) -> np.ndarray:
    import base64
    import io

    from PIL import Image

    raw = base64.b64decode(body["images"][0])
    return np.asarray(Image.open(io.BytesIO(raw)).convert("RGB"), dtype=float)


def test_lists_the_servable_styles_and_skips_the_others(client, tiny_models):
    from services.common.models import source_version

    listing = client.get("/v1/styles").json()
    assert [s["name"] for s in listing["styles"]] == ["kawung", "nitik"]
    nitik = listing["styles"][1]
    assert nitik["base_version"] == source_version(str(tiny_models["sd"]))
    assert nitik["rank"] == 4 and nitik["trigger_words"] == ["batik nitik motif"]
    assert nitik["version"].startswith("nitik@") and listing["preview"] is True
    ready = client.get("/readyz").json()
    assert ready["styles"] == ["kawung", "nitik"] and "+styles:" in ready["model_version"]


def test_scale_zero_is_no_style_and_one_changes_the_image(client):
    plain = generate(client)
    assert generate(client, style="nitik", style_scale=0)["images"] == plain["images"]
    styled = generate(client, style="nitik")
    assert styled["images"] != plain["images"]
    assert styled["images"] == generate(client, style="nitik", style_scale=1.0)["images"]
    assert styled["styles"] == [
        {"name": "nitik", "scale": 1.0, "version": styled["styles"][0]["version"]}
    ]
    assert styled["model_version"].endswith(f"+nitik@{styled['styles'][0]['version']}:1")
    assert plain["styles"] == [] and "nitik" not in plain["model_version"]
    # A stronger scale departs further from no style.
    half = generate(client, style="nitik", style_scale=0.5)
    distance = lambda body: np.abs(pixels(body) - pixels(plain)).mean()  # noqa: E731
    assert 0 < distance(half) < distance(styled)


def test_a_blend_is_neither_style_alone(client):
    blend = generate(client, styles=[{"name": "nitik", "scale": 1}, {"name": "kawung", "scale": 1}])
    assert [s["name"] for s in blend["styles"]] == ["nitik", "kawung"]
    for name in ("nitik", "kawung"):
        assert blend["images"] != generate(client, style=name)["images"]
    only_nitik = generate(client, styles=[{"name": "nitik"}, {"name": "kawung", "scale": 0}])
    assert only_nitik["images"] == generate(client, style="nitik")["images"]


@pytest.mark.parametrize(
    ("overrides", "status", "error_type", "needle"),
    [
        ({"style": "batik-x"}, 404, "not_found", "no style 'batik-x'"),
        ({"style": "foreign"}, 404, "not_found", "no style 'foreign'"),
        ({"style": "nitik", "style_scale": 2.5}, 422, "validation", "style_scale"),
        ({"style": "nitik", "style_scale": -0.1}, 422, "validation", "style_scale"),
        ({"style": "Not.A.Name"}, 422, "validation", "style"),
        ({"style": "nitik", "styles": [{"name": "kawung"}]}, 422, "validation", "not both"),
        ({"styles": [{"name": "nitik"}, {"name": "nitik"}]}, 422, "validation", "once"),
        ({"preview": True, "steps": 20}, 422, "validation", "preview: steps must be 4-8"),
        ({"preview": True, "guidance_scale": 7.5}, 422, "validation", "guidance_scale"),
    ],
)
def test_bad_style_requests(client, overrides, status, error_type, needle):
    body = assert_envelope(
        client.post("/v1/generate", json={**BASE, **overrides}), status, error_type
    )
    assert needle in body["message"]


def test_concurrent_requests_with_different_styles_never_bleed(client):
    asks = [
        {},
        {"style": "nitik"},
        {"style": "kawung", "style_scale": 1.5},
        {"styles": [{"name": "nitik", "scale": 0.5}, {"name": "kawung", "scale": 0.5}]},
        {"preview": True},
    ]
    alone = [generate(client, **ask)["images"] for ask in asks]
    assert len({tuple(images) for images in alone}) == len(asks)
    mixed = asks * 3
    with ThreadPoolExecutor(max_workers=6) as pool:
        together = list(pool.map(lambda ask: generate(client, **ask)["images"], mixed))
    assert together == alone * 3


def test_preview_runs_the_lcm_scheduler_with_the_distillation_lora(client):
    preview = generate(client, preview=True)
    assert preview["scheduler"] == "lcm" and preview["preview"] is True
    assert "+preview:lcm@" in preview["model_version"]
    assert preview["images"] != generate(client, steps=4, guidance_scale=1.0)["images"]
    # Styles stack on the preview LoRA.
    assert generate(client, preview=True, style="nitik")["images"] != preview["images"]


def test_reload_picks_up_added_and_removed_styles(client, style_folders):
    assert_envelope(client.post("/v1/styles/reload"), 401, "unauthorized")
    wrong = {"Authorization": "Bearer nope"}
    assert_envelope(client.post("/v1/styles/reload", headers=wrong), 401, "unauthorized")
    auth = {"Authorization": f"Bearer {TOKEN}"}
    styles = style_folders["styles"]
    before = client.get("/readyz").json()["model_version"]
    shutil.copytree(style_folders["spare"], styles / "truntum")
    shutil.move(styles / "kawung", styles.parent / "kawung-away")
    try:
        answer = client.post("/v1/styles/reload", headers=auth)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["added"] == ["truntum"] and body["removed"] == ["kawung"]
        assert [s["name"] for s in body["styles"]] == ["nitik", "truntum"]
        reasons = {s["folder"]: s["reason"] for s in body["skipped"]}
        assert "this service runs" in reasons["foreign"] and "sdxl@0123" in reasons["foreign"]
        assert "weights do not load" in reasons["broken"]
        assert generate(client, style="truntum")["styles"][0]["name"] == "truntum"
        assert_envelope(
            client.post("/v1/generate", json={**BASE, "style": "kawung"}), 404, "not_found"
        )
        assert client.get("/readyz").json()["model_version"] != before
    finally:
        shutil.rmtree(styles / "truntum")
        shutil.move(styles.parent / "kawung-away", styles / "kawung")
        assert client.post("/v1/styles/reload", headers=auth).json()["added"] == ["kawung"]


def test_default_style_is_fused_at_load(tiny_models, style_folders, client):
    app = styled_app(tiny_models, style_folders, style="nitik", preview_lora=None)
    with TestClient(app, raise_server_exceptions=False) as fused:
        wait_ready(fused)
        listing = fused.get("/v1/styles").json()
        assert listing["default"] == "nitik"
        assert {s["name"]: s["fused"] for s in listing["styles"]} == {
            "nitik": True,
            "kawung": False,
        }
        plain = generate(fused)
        assert "+style:nitik@" in plain["model_version"]
        # Fused weights give (up to rounding) what the unfused style gives.
        unfused = generate(client, style="nitik")
        assert np.abs(pixels(plain) - pixels(unfused)).max() <= 2
        assert plain["images"] != generate(client)["images"]
        assert generate(fused, style="nitik")["images"] == plain["images"]
        assert_envelope(
            fused.post("/v1/generate", json={**BASE, "style": "nitik", "style_scale": 0.5}),
            422,
            "validation",
        )
        # Another style stacks on the fused one.
        assert generate(fused, style="kawung")["images"] != plain["images"]


def test_generation_jobs_take_a_style(tiny_models, style_folders, redis_server, client):
    import base64
    import time
    import uuid

    app = styled_app(
        tiny_models,
        style_folders,
        redis_url=redis_server.url,
        job_queue_name=f"test:styles:{uuid.uuid4().hex}",
        job_poll_s=0.05,
    )
    with TestClient(app, raise_server_exceptions=False) as jobs:
        wait_ready(jobs)
        assert_envelope(jobs.post("/v1/jobs", json={**BASE, "style": "batik-x"}), 404, "not_found")
        answer = jobs.post("/v1/jobs", json={**BASE, "style": "nitik", "style_scale": 1.5})
        assert answer.status_code == 202, answer.text
        job_id = answer.json()["job_id"]
        deadline = time.monotonic() + 120
        while (record := jobs.get(f"/v1/jobs/{job_id}").json())["state"] != "succeeded":
            assert record["state"] in ("queued", "running") and time.monotonic() < deadline, record
            time.sleep(0.02)
        assert record["result"]["styles"][0]["name"] == "nitik"
        png = jobs.get(f"/v1/jobs/{job_id}/images/0").content
    sync = generate(client, style="nitik", style_scale=1.5)
    assert png == base64.b64decode(sync["images"][0])
    assert record["result"]["model_version"] == sync["model_version"]


def test_a_default_style_on_another_base_model_fails_the_start_with_the_reason(
    tiny_models, style_folders
):
    import time

    app = styled_app(tiny_models, style_folders, style="foreign", preview_lora=None)
    with TestClient(app, raise_server_exceptions=False) as refused:
        deadline = time.monotonic() + 60
        while "loading failed" not in (answer := refused.get("/readyz")).text:
            assert answer.status_code == 503 and time.monotonic() < deadline, answer.text
            time.sleep(0.05)
        message = assert_envelope(answer, 503, "not_ready")["message"]
        assert "sdxl@0123" in message and "this service runs" in message
        assert_envelope(refused.post("/v1/generate", json=BASE), 503, "not_ready")
