"""The Streamlit dashboard with Streamlit's AppTest, against a real gateway over HTTP.

The gateway is served by uvicorn on a loopback port in a thread of this process, with API keys on;
its upstreams are the three service apps on tiny models (in process, through httpx's ASGI transport).
"""

from __future__ import annotations

import hashlib

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from tests.helpers import REPO_ROOT, free_port, gateway_app, served

KEY = "dashboard-test-key"
APP = str(REPO_ROOT / "dashboard" / "app.py")


@pytest.fixture(scope="module")
def gateway_url(tiny_models, retrieval_client, captioning_client, generation_client):
    apps = {
        "retrieval": retrieval_client.app,
        "captioning": captioning_client.app,
        "generation": generation_client.app,
    }
    app = gateway_app(
        tiny_models, apps, api_keys="sha256:" + hashlib.sha256(KEY.encode()).hexdigest()
    )

    with served(app) as url:
        yield url


@pytest.fixture
def dashboard(gateway_url, monkeypatch):
    """A fresh AppTest of the dashboard pointed at the gateway, with the right key."""

    def make(url: str = gateway_url, key: str = KEY) -> AppTest:
        monkeypatch.setenv("DASHBOARD_GATEWAY_URL", url)
        monkeypatch.setenv("DASHBOARD_API_KEY", key)
        st.cache_resource.clear()  # the gateway client is cached per process
        st.cache_data.clear()
        return AppTest.from_file(APP, default_timeout=180).run()

    return make


def run(at: AppTest) -> AppTest:
    at.button(key="run").click().run()
    assert not at.exception, at.exception
    return at


def captions(at: AppTest) -> list[str]:
    return [c.value for c in at.caption]


def test_the_sidebar_offers_the_knobs_with_their_defaults(dashboard):
    at = dashboard()
    assert not at.exception
    assert at.slider(key="top_k").value == 5
    assert at.slider(key="strength").value == pytest.approx(0.55)
    assert at.slider(key="guidance").value == pytest.approx(7.5)
    assert (at.slider(key="top_k").min, at.slider(key="top_k").max) == (1, 10)
    assert (at.slider(key="guidance").min, at.slider(key="guidance").max) == (5.0, 15.0)
    assert at.number_input(key="seed").value is None
    assert at.info[0].value == "Results appear here."
    assert not at.error


def test_a_text_query_shows_references_prompt_and_the_image(dashboard):
    at = dashboard()
    at.text_area(key="query_text").set_value("sekar bunga")
    at.number_input(key="seed").set_value(7)
    at.slider(key="top_k").set_value(4)
    at.slider(key="steps").set_value(10)
    run(at)
    assert not at.error, [e.value for e in at.error]
    cosines = [c for c in captions(at) if c.startswith("cosine")]
    assert len(cosines) == 4
    # Shown in the retrieval's (fused visual + lexical) order; each card's cosine is a true cosine.
    scores = [float(c.split("**")[1]) for c in cosines]
    assert all(-1 <= s <= 1 for s in scores)
    assert at.code[0].value.startswith("sekar bunga, Batik Nitik ")
    tokens = next(c for c in captions(at) if "tokens of 77" in c)
    assert 0 < int(tokens.split("**")[1]) <= 77
    assert len(at.dataframe) == 1  # the prompt's parts
    # The generated image (captioned with its seed), its 3x3 repeat, and a thumbnail per reference.
    assert len(at.image) == 1 + 1 + 4
    assert at.image[0].captions == ["seed 7 · img2img"]
    assert at.image[1].captions == ["Repeated 3x3, as on the cloth"]
    assert at.download_button(key="download").label == "Download PNG"


def test_pakem_controls_reach_the_generation(dashboard):
    at = dashboard()
    at.text_area(key="query_text").set_value("kawung")
    at.number_input(key="seed").set_value(3)
    at.slider(key="steps").set_value(10)
    at.checkbox(key="tile").check()
    at.selectbox(key="symmetry").set_value("d4")
    at.checkbox(key="preview").uncheck()
    run(at)
    assert not at.error, [e.value for e in at.error]
    assert at.image[0].captions == ["seed 3 · img2img · d4"]
    assert "Repeated 3x3, as on the cloth" not in [c for i in at.image for c in i.captions]


def test_an_image_upload_finds_its_own_motif_first(dashboard, synthetic_dataset):
    images, _ = synthetic_dataset
    at = dashboard()
    at.file_uploader(key="query_image").set_value(
        ("truntum.jpg", (images / "5 Truntum 1.jpg").read_bytes(), "image/jpeg")
    )
    at.slider(key="steps").set_value(10)
    run(at)
    assert not at.error, [e.value for e in at.error]
    first_file = next(c for c in captions(at) if c.startswith("`"))
    assert "Truntum" in first_file
    assert at.image[0].captions[0].startswith("seed ")
    assert at.download_button(key="download")


def test_running_without_input_says_what_is_missing(dashboard):
    at = run(dashboard())
    assert "Write a description or upload a photo first." in at.error[0].value


def test_a_refused_key_is_a_readable_error(dashboard):
    at = dashboard(key="not-the-key")
    at.text_area(key="query_text").set_value("kawung")
    run(at)
    message = at.error[0].value
    assert "The API key was refused" in message and "not accepted" in message
    assert any("request id" in c for c in captions(at))


def test_an_unreachable_gateway_is_a_readable_error(dashboard):
    at = dashboard(url=f"http://127.0.0.1:{free_port()}")
    at.text_area(key="query_text").set_value("kawung")
    run(at)
    assert "The gateway cannot be reached" in at.error[0].value


def test_labels_switch_to_indonesian(dashboard):
    at = dashboard()
    at.segmented_control(key="language").set_value("id").run()
    assert at.title[0].value == "Studio motif Batik Nitik"
    assert at.button(key="run").label == "Buat"
    assert at.info[0].value == "Hasil muncul di sini."


def test_a_gateway_without_jobs_is_asked_synchronously(gateway_url):
    from dashboard.client import GatewayClient, GatewayError, Query, run_query

    client = GatewayClient(gateway_url, KEY)
    # This gateway has no Redis: its job routes say so, and run_query falls back to /v1/rag.
    with pytest.raises(GatewayError) as refused:
        client.submit_job(Query(text="kawung"))
    assert (refused.value.status, refused.value.type) == (503, "no_job_store")
    reports = []
    answer = run_query(
        client, Query(text="kawung", seed=2, steps=10), lambda *report: reports.append(report)
    )
    assert answer.seed == 2 and len(answer.images) == 1
    assert reports == []  # no job, no progress to report
