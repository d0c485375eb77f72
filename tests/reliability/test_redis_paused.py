"""Issue 16, finding 6: a paused Redis (SIGSTOP: the socket stays open, nothing answers) hung every job
route for as long as it was paused, and a running job's step callback blocked on it while holding the
pipeline. Now the job store's client has connect and socket timeouts (`*_REDIS_TIMEOUT_S`): the job
routes answer 503 `no_job_store` with `Retry-After` while Redis is still paused, and progress is
written in the background."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient

from services.common.jobs import JobStore, StepProgressReporter, connect_redis
from tests.conftest import wait_ready
from tests.helpers import RedisServer, assert_envelope, gateway_app

# Each call must come back while Redis is still paused; this only bounds a hang (the old behaviour).
HANG_S = 60
BODY = {"prompt": "batik nitik", "width": 64, "height": 64, "steps": 2, "seed": 1}


@pytest.fixture
def redis() -> Iterator[RedisServer]:
    server = RedisServer().start()
    yield server
    os.kill(server.process.pid, signal.SIGCONT)
    server.stop()


@contextmanager
def paused(server: RedisServer) -> Iterator[None]:
    os.kill(server.process.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(server.process.pid, signal.SIGCONT)


def while_paused(server: RedisServer, *calls):
    """Run each call in a thread while Redis is stopped; every one must return before it resumes."""
    results: list = [None] * len(calls)

    def run(i, call):
        results[i] = call()

    with paused(server):
        threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(HANG_S)
        hung = [i for i, thread in enumerate(threads) if thread.is_alive()]
        assert not hung, f"calls {hung} still waiting on the paused Redis after {HANG_S} s"
    return results


def _assert_503(answer) -> None:
    assert_envelope(answer, 503, "no_job_store")
    assert answer.headers["retry-after"]


def test_generation_job_routes_answer_503_while_redis_is_paused(tiny_models, redis):
    from services.generation.app import create_app
    from services.generation.config import GenerationSettings

    settings = GenerationSettings(
        model=str(tiny_models["sd"]),
        redis_url=redis.url,
        redis_timeout_s=1.0,
        job_worker=False,
        job_queue_name=f"test:queue:{uuid.uuid4().hex}",
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        wait_ready(client)
        job = client.post("/v1/jobs", json=BODY)
        assert job.status_code == 202, job.text
        job_id = job.json()["job_id"]
        read, submit = while_paused(
            redis,
            lambda: client.get(f"/v1/jobs/{job_id}"),
            lambda: client.post("/v1/jobs", json=BODY),
        )
        _assert_503(read)
        _assert_503(submit)
        assert client.get(f"/v1/jobs/{job_id}").status_code == 200  # and back once it resumes


def test_gateway_job_routes_answer_503_while_redis_is_paused(tiny_models, redis):
    app = gateway_app(tiny_models, {}, redis_url=redis.url, redis_timeout_s=1.0)
    with TestClient(app, raise_server_exceptions=False) as client:
        wait_ready(client)
        (read,) = while_paused(redis, lambda: client.get(f"/v1/jobs/{uuid.uuid4().hex}"))
        _assert_503(read)


def test_progress_writes_never_block_the_denoising_loop(redis):
    async def scenario() -> list[int]:
        connection = connect_redis(redis.url, timeout_s=30)  # long: only the background waits
        store = JobStore(connection, namespace="test:jobs", ttl_s=60)
        job_id = uuid.uuid4().hex
        await store.create(job_id, "generation")
        assert await store.start(job_id)
        reporter = StepProgressReporter(store, job_id)
        steps_done: list[int] = []

        def denoise() -> None:
            for step in range(1, 6):
                reporter(step, 5)
                steps_done.append(step)

        os.kill(redis.process.pid, signal.SIGSTOP)
        try:
            await asyncio.wait_for(asyncio.to_thread(denoise), HANG_S)
        finally:
            os.kill(redis.process.pid, signal.SIGCONT)
        for _ in range(200):  # the coalesced write lands once Redis answers again
            record = await store.get(job_id)
            if record.progress.step == 5:
                break
            await asyncio.sleep(0.05)
        await connection.aclose()
        assert record.progress.step == 5, record
        return steps_done

    assert asyncio.run(scenario()) == [1, 2, 3, 4, 5]
