"""Styles through the gateway: GET /v1/styles, `style` / `styles` in /v1/rag and /v1/rag/upload and
RAG jobs, the style in the answer, the cache key and the design library's provenance, and the dashboard's
style picker."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.conftest import wait_ready
from tests.helpers import assert_envelope, gateway_app

BODY = {"text": "kawung nitik", "seed": 5, "steps": 4, "top_k": 2}


@pytest.fixture(scope="module")
def gateway(tiny_models, retrieval_client, captioning_client, styled_generation_client):
    apps = {
        "retrieval": retrieval_client.app,
        "captioning": captioning_client.app,
        "generation": styled_generation_client.app,
    }
    with TestClient(gateway_app(tiny_models, apps), raise_server_exceptions=False) as client:
        wait_ready(client)
        yield client


def rag(gateway, **overrides) -> dict:
    answer = gateway.post("/v1/rag", json={**BODY, **overrides})
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_the_gateway_lists_the_generation_styles(gateway):
    listing = gateway.get("/v1/styles").json()
    assert [s["name"] for s in listing["styles"]] == ["kawung", "nitik"]


def test_style_passes_through_rag_and_keys_the_cache(gateway):
    plain = rag(gateway)
    styled = rag(gateway, style="nitik")
    assert styled["styles"][0]["name"] == "nitik" and plain["styles"] == []
    assert "+nitik@" in styled["model_version"]
    assert styled["images"] != plain["images"] and not styled["cache"]["hit"]
    again = rag(gateway, style="nitik")
    assert again["cache"]["hit"] and again["images"] == styled["images"]
    # Another scale is another answer, not the cached one.
    half = rag(gateway, style="nitik", style_scale=0.5)
    assert not half["cache"]["hit"] and half["images"] != styled["images"]
    assert rag(gateway, style="nitik", style_scale=0)["images"] == plain["images"]


def test_upload_takes_style_fields(gateway, synthetic_dataset):
    images, _ = synthetic_dataset
    photo = sorted(images.glob("*.jpg"))[0].read_bytes()
    form = {"text": "kawung", "seed": "5", "steps": "4", "top_k": "2"}
    blend = gateway.post(
        "/v1/rag/upload",
        files={"image": ("q.jpg", photo, "image/jpeg")},
        data={**form, "styles": "nitik:1,kawung:0.5"},
    )
    assert blend.status_code == 200, blend.text
    assert [(s["name"], s["scale"]) for s in blend.json()["styles"]] == [
        ("nitik", 1.0),
        ("kawung", 0.5),
    ]
    single = gateway.post(
        "/v1/rag/upload",
        files={"image": ("q.jpg", photo, "image/jpeg")},
        data={**form, "style": "kawung", "style_scale": "1.5"},
    )
    assert single.json()["styles"][0] == {
        "name": "kawung",
        "scale": 1.5,
        "version": single.json()["styles"][0]["version"],
    }


def test_bad_styles_through_the_gateway(gateway):
    error = assert_envelope(
        gateway.post("/v1/rag", json={**BODY, "style": "batik-x"}), 404, "not_found"
    )
    assert "no style 'batik-x'" in error["message"]
    assert_envelope(
        gateway.post("/v1/rag", json={**BODY, "style": "nitik", "style_scale": 3}),
        422,
        "validation",
    )


def test_the_dashboard_offers_the_served_styles(
    tiny_models, retrieval_client, captioning_client, styled_generation_client, monkeypatch
):
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from tests.helpers import REPO_ROOT
    from tests.service.test_gateway_dashboard import served

    apps = {
        "retrieval": retrieval_client.app,
        "captioning": captioning_client.app,
        "generation": styled_generation_client.app,
    }
    with served(gateway_app(tiny_models, apps)) as url:
        monkeypatch.setenv("DASHBOARD_GATEWAY_URL", url)
        st.cache_resource.clear()
        st.cache_data.clear()
        at = AppTest.from_file(str(REPO_ROOT / "dashboard" / "app.py"), default_timeout=180).run()
        assert at.selectbox(key="style").options == ["none", "kawung", "nitik"]
        at.text_area(key="query_text").set_value("kawung")
        at.number_input(key="seed").set_value(3)
        at.slider(key="steps").set_value(10)
        at.selectbox(key="style").set_value("nitik").run()
        at.slider(key="style_scale").set_value(1.5)
        at.button(key="run").click().run()
        assert not at.exception and not at.error, [e.value for e in at.error]
        assert at.image[0].captions == ["seed 3 · img2img · nitik x1.5"]


def test_rag_jobs_take_a_style(
    tiny_models,
    retrieval_client,
    captioning_client,
    styled_generation_client,
    redis_server,
    gateway,
):
    import time
    import uuid

    apps = {
        "retrieval": retrieval_client.app,
        "captioning": captioning_client.app,
        "generation": styled_generation_client.app,
    }
    app = gateway_app(
        tiny_models,
        apps,
        redis_url=redis_server.url,
        job_queue_name=f"test:rag-styles:{uuid.uuid4().hex}",
        job_poll_s=0.02,
        rate_limit_per_window=0,
    )
    body = {**BODY, "seed": 11, "style": "kawung", "style_scale": 0.5}
    with TestClient(app, raise_server_exceptions=False) as jobs:
        wait_ready(jobs)
        created = jobs.post("/v1/jobs", json=body)
        assert created.status_code == 202, created.text
        deadline = time.monotonic() + 120
        while (record := jobs.get(created.headers["location"]).json())["state"] != "succeeded":
            assert record["state"] in ("queued", "running") and time.monotonic() < deadline, record
            time.sleep(0.02)
    answer = record["result"]
    assert answer["styles"][0]["name"] == "kawung" and answer["styles"][0]["scale"] == 0.5
    assert answer["images"] == rag(gateway, **body)["images"]


def test_a_styled_design_records_its_style_and_remixes_with_it(
    tiny_models, retrieval_client, captioning_client, styled_generation_client, tmp_path
):
    """With the design library (the real service over HTTP), the style fields of the request and
    the styles applied (with their versions) are in the design's provenance, and a remix replays them."""
    from tests.helpers import LibraryServer

    apps = {
        "retrieval": retrieval_client.app,
        "captioning": captioning_client.app,
        "generation": styled_generation_client.app,
    }
    library = LibraryServer(tmp_path / "library")
    library.start()
    try:
        with TestClient(gateway_app(tiny_models, apps, library_url=library.url)) as client:
            wait_ready(client)
            answer = rag(client, seed=41, style="kawung", style_scale=0.5)
            (ref,) = answer["designs"]
            made = client.get(f"/v1/designs/{ref['id']}").json()["provenance"]
            remix = client.post(f"/v1/designs/{ref['id']}/remix", json={"seed": 42})
            assert remix.status_code == 200, remix.text
            plain = rag(client, seed=42)  # what a remix that lost its style would give
    finally:
        library.stop()
    assert (made["request"]["style"], made["request"]["style_scale"]) == ("kawung", 0.5)
    assert made["styles"] == answer["styles"] and made["styles"][0]["scale"] == 0.5
    assert made["versions"]["model_version"] == answer["model_version"]
    assert remix.json()["styles"] == answer["styles"]
    assert remix.json()["images"] != plain["images"]
