"""Issue 18's flows over real HTTP on the running stack (five uvicorn processes, a real Redis):
signed image URLs fetched without a key (and refused when tampered with), an idempotent retry that
answers the same job, an event stream that ends with the terminal state, and a webhook delivered to
a local receiver with a valid signature."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid

import httpx
import pytest

from tests.e2e.conftest import WEBHOOK_SECRET, url_of
from tests.helpers import WebhookReceiver, assert_envelope, sse_events

pytestmark = pytest.mark.e2e

QUICK = {"steps": 10, "strength": 0.5}


@pytest.fixture(scope="module")
def gateway(running_stack):
    with httpx.Client(base_url=url_of(running_stack, "gateway"), timeout=120) as client:
        yield client


def test_url_images_are_fetched_without_a_key_and_a_tampered_one_is_403(gateway):
    body = {"text": "sekar jagad", "seed": 1821, "preview_repeat": True, **QUICK}
    answer = gateway.post("/v1/rag", json={**body, "response_format": "url"})
    assert answer.status_code == 200, answer.text
    found = answer.json()
    assert found["images"] == [] and found["previews"] == []
    urls = found["image_urls"] + found["preview_urls"]
    assert len(urls) == 2
    with httpx.Client(timeout=30) as browser:  # a fresh client: no key, no base URL
        for url in urls:
            image = browser.get(url)
            assert image.status_code == 200, image.text
            assert image.headers["content-type"] == "image/png"
            assert image.content.startswith(b"\x89PNG")
        signature = url.rsplit("sig=", 1)[1]
        forged = url.replace(signature, ("0" if signature[0] != "0" else "1") + signature[1:])
        assert_envelope(browser.get(forged), 403, "forbidden")


def test_an_idempotent_retry_answers_the_same_job_and_its_events_end_with_the_terminal_state(
    gateway,
):
    body = {"text": "truntum", "seed": 1822, "save": False, **QUICK}
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = gateway.post("/v1/jobs", json=body, headers=key)
    retry = gateway.post("/v1/jobs", json=body, headers=key)
    assert first.status_code == retry.status_code == 202, retry.text
    job_id = first.json()["job_id"]
    assert retry.json()["job_id"] == job_id and retry.headers["idempotent-replayed"] == "true"
    mismatch = gateway.post("/v1/jobs", json={**body, "seed": 7}, headers=key)
    assert_envelope(mismatch, 422, "idempotency_mismatch")

    with gateway.stream("GET", f"/v1/jobs/{job_id}/events") as stream:
        assert stream.status_code == 200
        events = sse_events(stream.iter_lines())
    name, last = events[-1]
    assert name == "finished" and last["state"] == "succeeded", events[-3:]
    assert last["status_url"] == f"/v1/jobs/{job_id}"
    assert [n for n, _ in events].count("finished") == 1
    assert ("stage", {"stage": "generation"}) in events
    job = gateway.get(last["status_url"])
    assert job.json()["state"] == "succeeded" and len(job.json()["result"]["images"]) == 1
    listed = gateway.get("/v1/jobs", params={"state": "succeeded", "limit": 100}).json()["jobs"]
    assert job_id in [j["job_id"] for j in listed]


def test_a_webhook_reaches_a_local_receiver_with_a_valid_signature(gateway):
    with WebhookReceiver() as receiver:
        created = gateway.post(
            "/v1/jobs",
            json={
                "text": "ceplok",
                "seed": 1823,
                "save": False,
                "callback_url": f"{receiver.url}/batik",
                **QUICK,
            },
        )
        assert created.status_code == 202, created.text
        (call,) = receiver.wait_for(1, deadline_s=180)
    expected = hmac.new(WEBHOOK_SECRET.encode(), call["body"], hashlib.sha256).hexdigest()
    assert call["headers"]["X-Batik-Signature"] == f"sha256={expected}"
    event = json.loads(call["body"])
    assert event["type"] == "job.finished" and call["path"] == "/batik"
    assert event["data"]["job_id"] == created.json()["job_id"]
    assert event["data"]["state"] == "succeeded"
    refused = gateway.post(
        "/v1/jobs", json={"text": "ceplok", "callback_url": "https://192.168.0.10/hook"}
    )
    assert_envelope(refused, 422, "validation")
