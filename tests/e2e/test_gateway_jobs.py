"""RAG jobs through the gateway, over real HTTP against the live upstream processes and a real Redis.

The stack's own gateway process (uvicorn, default settings: its job worker runs in the process) runs a
job end to end. Gateways built in this process (`create_app`) on the same Redis and upstreams show the
rest: a job created through one instance is read and cancelled through another (which runs no
worker), and the cancel reaches the generation service's job; cache hits, errors, keys, no Redis.
"""

from __future__ import annotations

import contextlib
import hashlib
import uuid

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.conftest import wait_ready
from tests.e2e.conftest import UPSTREAMS, url_of
from tests.helpers import assert_envelope, finished, free_port, gateway_app, poll_job

pytestmark = pytest.mark.e2e

STAGES = ["retrieval", "captioning", "fusion", "generation"]
# 150 img2img steps at strength 1.0: long enough on the tiny SD to be seen rising and cancelled.
LONG = {"steps": 150, "strength": 1.0}
QUICK = {"steps": 10, "strength": 0.5}
KEY = "jobs-test-key"


def submit(client, body: dict, **headers) -> dict:
    answer = client.post("/v1/jobs", json=body, headers=headers)
    assert answer.status_code == 202, answer.text
    created = answer.json()
    assert answer.headers["location"] == created["status_url"] == f"/v1/jobs/{created['job_id']}"
    return created


def without_run_details(answer: dict) -> dict:
    # `designs`: each run saves its own (these in-process gateways have no library at all).
    return {k: v for k, v in answer.items() if k not in ("timings_ms", "cache", "designs")}


def new_queue() -> str:
    # Not the stack gateway's queue, nor another test's: only the gateways given it run its jobs.
    return f"e2e:rag:queue:{uuid.uuid4().hex}"


@pytest.fixture(scope="module")
def make_gateway(running_stack, tiny_models, stack_redis):
    opened = []

    def make(**overrides) -> TestClient:
        defaults = {
            **{f"{name}_url": url_of(running_stack, name) for name in UPSTREAMS},
            "redis_url": stack_redis.url,
            "job_queue_name": new_queue(),
            "job_poll_s": 0.02,
            "rate_limit_per_window": 0,  # these tests poll fast
        }
        client = TestClient(
            gateway_app(tiny_models, {}, **{**defaults, **overrides}),
            raise_server_exceptions=False,
        )
        client.__enter__()
        opened.append(client)
        wait_ready(client)
        return client

    yield make
    with contextlib.ExitStack() as closing:  # every client is closed, even after one fails to
        for client in opened:
            closing.callback(client.__exit__, None, None, None)


@pytest.fixture(scope="module")
def pair(make_gateway):
    """Two gateway instances on one Redis: `a` runs jobs, `b` only serves the job routes."""
    queue = new_queue()
    return (
        make_gateway(generation_size=128, job_queue_name=queue),
        make_gateway(job_worker=False, job_queue_name=queue),
    )


@pytest.fixture(scope="module")
def stack_gateway(running_stack):
    with httpx.Client(base_url=url_of(running_stack, "gateway"), timeout=120) as client:
        yield client


def test_a_job_runs_the_flow_through_its_stages_with_real_progress(
    stack_gateway, make_gateway, running_stack
):
    body = {"text": "sekar jagad", "seed": 21, **LONG}
    created = submit(stack_gateway, body)
    assert created["state"] == "queued"
    # The stack's gateway has the default rate limit (120 a minute): poll gently.
    seen = poll_job(stack_gateway, created["job_id"], finished, every_s=0.2)
    done = seen[-1]
    assert done["state"] == "succeeded", done
    running = [j for j in seen if j["state"] == "running"]
    assert running, "never seen running"
    stages = list(dict.fromkeys(j["stage"] for j in running if j["stage"]))
    assert stages == [s for s in STAGES if s in stages] and stages[-1] == "generation", stages
    steps = [j["progress"]["step"] for j in running if j["stage"] == "generation"]
    assert steps == sorted(steps) and len(set(steps)) > 1, steps
    assert done["progress"] == {"step": 150, "total": 150}
    assert done["stage"] == "generation" and done["generation_job_id"]
    answer = done["result"]
    assert answer["cache"]["hit"] is False and answer["seed"] == 21 and answer["degraded"] == []
    assert len(answer["references"]) == 5 and len(answer["images"]) == 1
    assert {"retrieval", "captioning", "fusion", "generation"} <= set(answer["timings_ms"])
    # The images (and the rest of the answer) are those of the synchronous call with the same
    # seed, made fresh by a gateway with its own in-process cache.
    sync_gateway = make_gateway(redis_url=None)
    sync = sync_gateway.post("/v1/rag", json=body)
    assert sync.status_code == 200, sync.text
    assert sync.json()["cache"]["hit"] is False
    assert without_run_details(sync.json()) == without_run_details(answer)
    # The generation service ran it as its own job, which the record names.
    generation = httpx.get(
        f"{url_of(running_stack, 'generation')}/v1/jobs/{done['generation_job_id']}", timeout=10
    ).json()
    assert generation["state"] == "succeeded" and generation["progress"]["step"] == 150


def test_cancel_through_another_gateway_while_generating_cancels_the_generation_job(
    pair, running_stack
):
    a, b = pair
    created = submit(a, {"text": "parang nitik", "seed": 4, **LONG})
    generating = poll_job(
        b,
        created["job_id"],
        lambda j: (j["stage"] == "generation" and j["progress"]["step"] >= 2) or finished(j),
    )[-1]
    assert generating["state"] == "running", generating
    answer = b.delete(f"/v1/jobs/{created['job_id']}")
    assert answer.status_code == 200, answer.text
    assert answer.json()["cancel_requested"] is True
    final = poll_job(b, created["job_id"], finished)[-1]
    assert final["state"] == "cancelled", final
    assert final["result"] is None and final["progress"]["step"] < final["progress"]["total"]
    assert a.get(f"/v1/jobs/{created['job_id']}").json()["state"] == "cancelled"
    # The cancel reached the generation service: its job stops too, before its last step.
    with httpx.Client(base_url=url_of(running_stack, "generation"), timeout=10) as generation:
        gen = poll_job(generation, final["generation_job_id"], finished, deadline_s=60)[-1]
    assert gen["state"] == "cancelled", gen
    assert gen["progress"]["step"] < gen["progress"]["total"] == 150


def test_a_job_created_through_one_gateway_is_read_through_another(pair):
    a, b = pair
    created = submit(b, {"text": "kawung picis", "seed": 8, **QUICK})  # b runs no worker: a does
    done = poll_job(a, created["job_id"], finished)[-1]
    assert done["state"] == "succeeded", done
    assert b.get(f"/v1/jobs/{created['job_id']}").json() == done


def test_a_cached_request_is_a_job_done_at_once(pair):
    a, _ = pair
    body = {"text": "truntum stars", "seed": 31, **QUICK}
    first = a.post("/v1/rag", json=body)
    assert first.status_code == 200, first.text
    created = submit(a, body)
    assert created["state"] == "succeeded"
    job = a.get(created["status_url"]).json()
    assert job["state"] == "succeeded" and job["stage"] is None
    assert job["result"]["cache"]["hit"] is True
    assert without_run_details(job["result"]) == without_run_details(first.json())


def test_a_job_whose_upstream_fails_ends_failed_with_the_error(make_gateway):
    dead = make_gateway(retrieval_url=f"http://127.0.0.1:{free_port()}")
    created = submit(dead, {"text": "cakar ayam", "seed": 2, **QUICK})
    done = poll_job(dead, created["job_id"], finished)[-1]
    assert done["state"] == "failed", done
    assert done["error"]["type"] == "upstream"
    assert "retrieval is unreachable" in done["error"]["message"]
    assert done["stage"] == "retrieval" and done["result"] is None


def test_unknown_job_ids_are_404_in_the_envelope(pair):
    _, b = pair
    for job_id in (uuid.uuid4().hex, "not-a-job"):
        assert_envelope(b.get(f"/v1/jobs/{job_id}"), 404, "not_found")
        assert_envelope(b.delete(f"/v1/jobs/{job_id}"), 404, "not_found")


def test_bad_job_bodies_are_refused_before_queueing(pair):
    _, b = pair
    assert_envelope(b.post("/v1/jobs", json={}), 422, "validation")
    assert_envelope(b.post("/v1/jobs", json={"image": "this is not base64!!"}), 422, "validation")


def test_a_full_queue_answers_429_and_a_queued_job_cancels_at_once(make_gateway):
    gateway = make_gateway(job_worker=False, job_queue_max=1)
    first = submit(gateway, {"text": "ceplok", "seed": 1, **QUICK})
    assert first["state"] == "queued"
    full = gateway.post("/v1/jobs", json={"text": "ceplok", "seed": 2, **QUICK})
    assert_envelope(full, 429, "overloaded")
    assert full.headers["retry-after"]
    cancelled = gateway.delete(first["status_url"])
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"


def test_without_redis_the_job_routes_answer_503_and_rag_still_works(make_gateway):
    gateway = make_gateway(redis_url=None)
    for answer in (
        gateway.post("/v1/jobs", json={"text": "kawung", **QUICK}),
        gateway.get(f"/v1/jobs/{uuid.uuid4().hex}"),
        gateway.delete(f"/v1/jobs/{uuid.uuid4().hex}"),
    ):
        error = assert_envelope(answer, 503, "no_job_store")
        assert "GATEWAY_REDIS_URL is not set" in error["message"]
    assert gateway.post("/v1/rag", json={"text": "kawung", "generate": False}).status_code == 200


def test_with_redis_down_the_job_routes_answer_503_and_the_gateway_stays_up(make_gateway):
    gateway = make_gateway(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    error = assert_envelope(
        gateway.post("/v1/jobs", json={"text": "kawung", **QUICK}), 503, "no_job_store"
    )
    assert "the job store (Redis) is unavailable" in error["message"]
    assert_envelope(gateway.get(f"/v1/jobs/{uuid.uuid4().hex}"), 503, "no_job_store")
    # The worker keeps retrying Redis in the background; the synchronous route is unaffected, and
    # the gateway shuts down cleanly at the end of the module.
    assert gateway.post("/v1/rag", json={"text": "kawung", "generate": False}).status_code == 200


def test_job_routes_need_the_api_key(make_gateway):
    gateway = make_gateway(api_keys="sha256:" + hashlib.sha256(KEY.encode()).hexdigest())
    body = {"text": "sekar kemuning", "generate": False}
    job_path = f"/v1/jobs/{uuid.uuid4().hex}"
    for answer in (
        gateway.post("/v1/jobs", json=body),
        gateway.get(job_path),
        gateway.delete(job_path),
    ):
        assert_envelope(answer, 401, "unauthorized")
    wrong = {"X-API-Key": "not-the-key"}
    assert_envelope(gateway.post("/v1/jobs", json=body, headers=wrong), 403, "forbidden")
    assert_envelope(gateway.get(job_path, headers=wrong), 403, "forbidden")
    gateway.headers["X-API-Key"] = KEY
    created = submit(gateway, body)
    done = poll_job(gateway, created["job_id"], finished)[-1]
    assert done["state"] == "succeeded" and done["result"]["images"] == []


def test_the_dashboard_follows_a_job_with_stage_and_progress(stack_gateway, running_stack):
    from dashboard.client import GatewayClient, Query, run_query

    client = GatewayClient(url_of(running_stack, "gateway"), poll_s=0.2)
    reports: list[tuple[str, float | None]] = []
    answer = run_query(
        client,
        Query(text="semen rante", seed=5, steps=150, strength=1.0),
        lambda stage, fraction: reports.append((stage, fraction)),
    )
    assert answer.seed == 5 and len(answer.images) == 1 and answer.cache.hit is False
    stages = list(dict.fromkeys(stage for stage, _ in reports if stage != "queued"))
    assert stages and stages[-1] == "generation", reports
    fractions = [f for stage, f in reports if stage == "generation" and f is not None]
    assert fractions == sorted(fractions) and 0 < fractions[-1] <= 1, reports


def test_the_dashboard_page_runs_a_query_as_a_job(running_stack, stack_redis, monkeypatch):
    import redis
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from tests.helpers import REPO_ROOT

    monkeypatch.setenv("DASHBOARD_GATEWAY_URL", url_of(running_stack, "gateway"))
    st.cache_resource.clear()
    st.cache_data.clear()
    jobs = redis.Redis.from_url(stack_redis.url)
    before = set(jobs.scan_iter("batik:rag:job:*"))
    at = AppTest.from_file(str(REPO_ROOT / "dashboard" / "app.py"), default_timeout=180).run()
    at.text_area(key="query_text").set_value("sekar bunga")
    at.number_input(key="seed").set_value(17)
    at.slider(key="steps").set_value(10)
    at.button(key="run").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.image[0].captions == ["seed 17 · img2img"]
    assert at.download_button(key="download")
    # It ran as a job of the gateway (not the synchronous route): one new job record, succeeded.
    (new,) = set(jobs.scan_iter("batik:rag:job:*")) - before
    assert jobs.hget(new, "state") == b"succeeded"
