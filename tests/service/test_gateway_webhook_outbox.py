"""Webhooks through the outbox (gateway/webhooks.py, gateway/webhook_outbox.py) on in-process gateways
(tiny models, in-process upstreams) with a real job Redis of their own (append-only, noeviction, as
deployed) and a real HTTP receiver on loopback (allowed through GATEWAY_WEBHOOK_ALLOW):

- a webhook whose first tries fail is still pending when its gateway stops, and the next gateway to
  start delivers it: the same event, byte for byte, validly signed;
- the app's wiring (gateway/app.py): a job its watchdog fails sends its `job.finished` webhook;
- a webhook whose every try fails is given up, removed and counted in /metrics."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import redis
from fastapi.testclient import TestClient

from gateway.webhook_outbox import PREFIX
from tests.conftest import wait_ready
from tests.helpers import WebhookReceiver, gateway_app
from tests.service.test_gateway_service import metric

SECRET = "webhook-outbox-secret"
DUE = PREFIX + "due"


def open_gateway(tiny_models, apps, job_redis, **overrides) -> TestClient:
    settings = {
        "job_redis_url": job_redis.url,
        "job_queue_name": f"hooks:{time.monotonic_ns()}",
        "job_poll_s": 0.02,
        "webhook_secret": SECRET,
        "webhook_allow": "127.0.0.1",
        **overrides,
    }
    client = TestClient(gateway_app(tiny_models, apps, **settings), raise_server_exceptions=False)
    client.__enter__()
    wait_ready(client)
    return client


def pending(job_redis) -> int:
    return redis.Redis(port=job_redis.port).zcard(DUE)


def wait_drained(job_redis, deadline_s: float = 30.0) -> None:
    deadline = time.monotonic() + deadline_s
    while pending(job_redis):
        assert time.monotonic() < deadline, "the webhook outbox never emptied"
        time.sleep(0.05)


def submit(client, receiver, seed: int, **body) -> dict:
    created = client.post(
        "/v1/jobs",
        json={
            "text": "nitik",
            "seed": seed,
            "generate": False,
            "callback_url": receiver.url + "/hook",
            **body,
        },
    )
    assert created.status_code == 202, created.text
    return created.json()


def test_a_webhook_pending_when_its_gateway_stops_is_delivered_by_the_next(
    tiny_models, upstream_apps, job_redis
):
    # Every try fails (503) until the first gateway has stopped: the 200 can only come from the
    # second one, which had nothing to do with the job.
    with WebhookReceiver(then=503) as receiver:
        first = open_gateway(tiny_models, upstream_apps, job_redis, webhook_attempts=10)
        try:
            job = submit(first, receiver, seed=1901)
            [failed] = receiver.wait_for(1)
        finally:
            first.__exit__(None, None, None)
        assert failed["status"] == 503
        assert pending(job_redis) == 1  # kept in the job Redis, waiting out its backoff
        tried = len(receiver.received)
        receiver.then = 200

        second = open_gateway(tiny_models, upstream_apps, job_redis, webhook_attempts=10)
        try:
            *_, delivered = receiver.wait_for(tried + 1)
            wait_drained(job_redis)
        finally:
            second.__exit__(None, None, None)
    assert delivered["status"] == 200
    assert delivered["body"] == failed["body"]  # the same event: a receiver can dedupe on its id
    expected = hmac.new(SECRET.encode(), delivered["body"], hashlib.sha256).hexdigest()
    assert delivered["headers"]["X-Batik-Signature"] == f"sha256={expected}"
    event = json.loads(delivered["body"])
    assert delivered["headers"]["X-Batik-Event-Id"] == event["id"]
    assert event["data"]["job_id"] == job["job_id"] and event["data"]["state"] == "succeeded"


def test_a_job_the_watchdog_fails_sends_its_webhook(tiny_models, upstream_apps, job_redis):
    # No worker runs the job, and its queue entry vanishes: the watchdog fails it, and the app's
    # on_failed hook promises its webhook, which the drain delivers.
    queue = f"hooks:watched:{time.monotonic_ns()}"
    with WebhookReceiver() as receiver:
        client = open_gateway(
            tiny_models,
            upstream_apps,
            job_redis,
            job_worker=False,
            job_queue_name=queue,
            job_watchdog_s=0.5,
        )
        try:
            job = submit(client, receiver, seed=1902, text="kawung lost")
            assert job["state"] == "queued"
            assert redis.Redis(port=job_redis.port).zrem(queue, job["job_id"]) == 1
            [delivered] = receiver.wait_for(1)
            wait_drained(job_redis)
            failed = client.get(job["status_url"]).json()
        finally:
            client.__exit__(None, None, None)
    assert failed["state"] == "failed" and "stranded" in failed["error"]["message"]
    event = json.loads(delivered["body"])
    assert event["data"]["job_id"] == job["job_id"] and event["data"]["state"] == "failed"
    assert event["data"]["error"] == failed["error"]


def test_a_webhook_whose_every_try_fails_is_given_up_and_counted(
    tiny_models, upstream_apps, job_redis
):
    with WebhookReceiver(then=500) as receiver:
        client = open_gateway(tiny_models, upstream_apps, job_redis, webhook_attempts=2)
        try:
            submit(client, receiver, seed=1903)
            receiver.wait_for(2)
            wait_drained(job_redis)
            given_up = metric(client, "batik_webhook_deliveries_total", outcome="given_up")
            retried = metric(client, "batik_webhook_deliveries_total", outcome="retried")
        finally:
            client.__exit__(None, None, None)
    assert (given_up, retried) == (1, 1)
    assert len(receiver.received) == 2  # GATEWAY_WEBHOOK_ATTEMPTS tries, no more
