"""Issue 16, finding 2: accepted jobs were lost or stranded. The job Redis persists (AOF, noeviction),
so a job survives a restart of it; and a watchdog fails any job whose queue entry or worker vanished,
with the reason, so no job stays queued or running forever."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import pytest
from fastapi.testclient import TestClient

from gateway.jobs import report_end
from gateway.webhooks import WebhookSender
from services.common.job_watchdog import JobWatchdog
from services.common.jobs import JobQueue, JobStore, connect_redis
from tests.conftest import wait_ready
from tests.helpers import RedisServer, WebhookReceiver

BODY = {"prompt": "batik nitik kawung", "width": 64, "height": 64, "steps": 2, "seed": 3}


def generation_app(tiny_models, redis: RedisServer, queue: str, *, worker: bool):
    from services.generation.app import create_app
    from services.generation.config import GenerationSettings

    settings = GenerationSettings(
        model=str(tiny_models["sd"]),
        redis_url=redis.url,
        job_worker=worker,
        job_queue_name=queue,
        job_poll_s=0.05,
    )
    return TestClient(create_app(settings), raise_server_exceptions=False)


def test_an_accepted_job_survives_a_restart_of_its_aof_redis(tiny_models, tmp_path):
    redis = RedisServer(data_dir=tmp_path).start()
    queue = f"test:queue:{uuid.uuid4().hex}"
    try:
        with generation_app(tiny_models, redis, queue, worker=False) as client:
            wait_ready(client)
            accepted = client.post("/v1/jobs", json=BODY)
            assert accepted.status_code == 202, accepted.text
            job_id = accepted.json()["job_id"]
        redis.stop()
        redis.start()  # same port, same AOF
        with generation_app(tiny_models, redis, queue, worker=True) as client:
            wait_ready(client)
            deadline = time.monotonic() + 120
            while (record := client.get(f"/v1/jobs/{job_id}")).json()["state"] != "succeeded":
                assert record.status_code == 200, record.text  # never 404: the job was kept
                assert record.json()["state"] in ("queued", "running"), record.json()
                assert time.monotonic() < deadline, record.json()
                time.sleep(0.1)
            assert client.get(f"/v1/jobs/{job_id}/images/0").status_code == 200
    finally:
        redis.stop()


@pytest.fixture
def queue(redis_server):
    connection = connect_redis(redis_server.url)
    store = JobStore(connection, namespace=f"test:jobs:{uuid.uuid4().hex}", ttl_s=600)
    yield JobQueue(connection, store, queue_name=f"test:queue:{uuid.uuid4().hex}", max_length=8)


def test_the_watchdog_fails_stranded_jobs_with_the_reason(queue):
    async def scenario():
        store, redis = queue.store, queue.redis
        kept = await queue.submit("generation", "generate", {})  # a real queue entry: left alone
        lost = await store.create(uuid.uuid4().hex, "generation")  # its queue entry never came
        orphan = await queue.submit("generation", "generate", {})
        await store.start(orphan.job_id)
        await redis.zrem(queue.queue_name, orphan.job_id)  # its queue entry and worker are gone
        slow = await queue.submit("generation", "generate", {})
        await store.start(slow.job_id)  # still queued in arq, but silent for longer than stale_s
        await redis.hset(store.key(slow.job_id), "updated_at", time.time() - 3600)

        watchdog = JobWatchdog(queue, grace_s=0, stale_s=600)
        failed = await watchdog.sweep()
        assert set(failed) == {lost.job_id, orphan.job_id, slow.job_id}
        assert "queue entry vanished" in failed[lost.job_id]
        assert "worker and its queue entry vanished" in failed[orphan.job_id]
        assert "no worker has reported" in failed[slow.job_id]
        for job_id in failed:
            record = await store.get(job_id)
            assert record.state == "failed" and "stranded" in record.error.message
        assert (await store.get(kept.job_id)).state == "queued"
        assert await watchdog.sweep() == {}  # idempotent
        await redis.aclose()

    asyncio.run(scenario())


def test_the_watchdog_waits_its_grace_before_judging(queue):
    async def scenario():
        lost = await queue.store.create(uuid.uuid4().hex, "generation")
        assert await JobWatchdog(queue, grace_s=60, stale_s=600).sweep() == {}
        assert (await queue.store.get(lost.job_id)).state == "queued"
        await queue.redis.aclose()

    asyncio.run(scenario())


def test_a_job_the_watchdog_fails_sends_its_webhook(queue):
    # The gateway's wiring (gateway/app.py): on_failed is report_end, the worker's own end report.
    with WebhookReceiver() as receiver:
        sender = WebhookSender(secret="s", allow=["127.0.0.1"], attempts=1, timeout_s=10)

        async def scenario():
            store = queue.store
            lost = await store.create(uuid.uuid4().hex, "rag")  # its queue entry never came
            await queue.redis.hset(store.key(lost.job_id), "callback_url", receiver.url + "/hook")
            watchdog = JobWatchdog(
                queue,
                grace_s=0,
                stale_s=600,
                on_failed=lambda job_id: report_end(store, sender, job_id),
            )
            assert set(await watchdog.sweep()) == {lost.job_id}
            await asyncio.gather(*sender._tasks)
            await sender.aclose()
            await queue.redis.aclose()
            return lost.job_id

        job_id = asyncio.run(scenario())
        [delivered] = receiver.wait_for(1)
    event = json.loads(delivered["body"])
    assert delivered["path"] == "/hook"
    assert event["data"]["job_id"] == job_id and event["data"]["state"] == "failed"
    assert "stranded" in event["data"]["error"]["message"]
