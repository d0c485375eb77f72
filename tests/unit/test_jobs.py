"""The job record store, queue and lifecycle wrapper (services/common/jobs.py) on a real Redis."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid

import anyio.to_thread
import pytest

from services.common.errors import (
    BusyError,
    ErrorType,
    InvalidInputError,
    ServiceError,
    to_service_error,
)
from services.common.jobs import (
    JobQueue,
    JobStore,
    StepProgressReporter,
    connect_redis,
    new_job_id,
    run_tracked,
)


def scenario(redis_server, body, *, ttl_s: int = 600):
    """Run `body(store, redis)` on a fresh namespace and connection, in one event loop."""

    async def main():
        client = connect_redis(redis_server.url)
        store = JobStore(client, namespace=f"test:{uuid.uuid4().hex}", ttl_s=ttl_s)
        try:
            return await body(store, client)
        finally:
            await client.aclose()

    return asyncio.run(main())


def test_record_lifecycle_and_ttl(redis_server):
    async def body(store, client):
        job_id = new_job_id()
        created = await store.create(job_id, "generation")
        assert created.state == "queued" and created.progress.total == 0
        assert 0 < await client.ttl(store.key(job_id)) <= 600
        assert await store.start(job_id)
        assert await store.progress(job_id, 2, 10) is False
        running = await store.get(job_id)
        assert running.state == "running" and (running.progress.step, running.progress.total) == (
            2,
            10,
        )
        await store.put_blob(job_id, "image-0", b"png bytes")
        await store.finish(job_id, "succeeded", result={"images": ["/x"]})
        done = await store.get(job_id)
        assert done.state == "succeeded" and done.result == {"images": ["/x"]}
        assert await store.get_blob(job_id, "image-0") == b"png bytes"
        assert 0 < await client.ttl(store.blob_key(job_id, "image-0")) <= 600
        # Finished is final: a late progress report changes nothing and says "stop".
        assert await store.progress(job_id, 3, 10) is True
        assert (await store.get(job_id)).progress.step == 2
        assert await store.get(new_job_id()) is None

    scenario(redis_server, body)


def test_cancel_a_queued_job_and_it_never_starts(redis_server):
    async def body(store, _client):
        job_id = new_job_id()
        await store.create(job_id, "generation")
        cancelled = await store.cancel(job_id)
        assert cancelled.state == "cancelled" and cancelled.cancel_requested
        assert await store.start(job_id) is False
        assert (await store.get(job_id)).state == "cancelled"

    scenario(redis_server, body)


def test_cancel_a_running_job_sets_the_flag_the_worker_reads(redis_server):
    async def body(store, _client):
        job_id = new_job_id()
        await store.create(job_id, "generation")
        await store.start(job_id)
        flagged = await store.cancel(job_id)
        assert flagged.state == "running" and flagged.cancel_requested
        assert await store.progress(job_id, 1, 5) is True
        await store.finish(job_id, "cancelled")
        assert (await store.get(job_id)).state == "cancelled"
        # Cancelling a finished job changes nothing; an unknown one is None.
        assert (await store.cancel(job_id)).state == "cancelled"
        assert await store.cancel(new_job_id()) is None

    scenario(redis_server, body)


def test_racing_cancels_and_starts_have_one_winner(redis_server):
    """Many jobs, each cancelled and started at once: every job ends in exactly one consistent state."""

    async def body(store, _client):
        ids = [new_job_id() for _ in range(40)]
        for job_id in ids:
            await store.create(job_id, "generation")
        starts = await asyncio.gather(
            *(store.start(j) for j in ids), *(store.cancel(j) for j in ids)
        )
        for job_id, started in zip(ids, starts[: len(ids)], strict=True):
            record = await store.get(job_id)
            assert record.cancel_requested
            # Started first: running with the flag set. Cancelled first: cancelled, never started.
            assert record.state == ("running" if started else "cancelled")

    scenario(redis_server, body)


def test_queue_refuses_past_its_length_with_429(redis_server):
    async def body(store, client):
        queue = JobQueue(client, store, queue_name=f"{store.namespace}:queue", max_length=2)
        first = await queue.submit("generation", "generate", {"n": 1})
        await queue.submit("generation", "generate", {"n": 2})
        with pytest.raises(BusyError) as caught:
            await queue.submit("generation", "generate", {"n": 3})
        refusal = to_service_error(caught.value)
        assert refusal.type is ErrorType.OVERLOADED and refusal.headers["Retry-After"]
        assert await queue.length() == 2
        assert (await store.get(first.job_id)).state == "queued"
        # arq holds the job under the record's id.
        assert await client.exists(f"arq:job:{first.job_id}")

    scenario(redis_server, body)


def test_run_tracked_records_each_outcome(redis_server):
    async def body(store, _client):
        async def start(work):
            job_id = new_job_id()
            await store.create(job_id, "generation")
            return await run_tracked(store, job_id, work), await store.get(job_id)

        async def ok(report):
            await anyio.to_thread.run_sync(report, 1, 1)
            return {"value": 1}

        async def bad_input(_report):
            raise ServiceError(ErrorType.VALIDATION, "width: must be a multiple of 8")

        async def engine_value_error(_report):
            raise ValueError("symmetry needs a square image")

        async def engine_invalid_input(_report):
            raise InvalidInputError("no ControlNet is loaded")

        async def crash(_report):
            raise KeyError("secret internals")

        outcome, record = await start(ok)
        assert outcome == "succeeded" and record.result == {"value": 1}
        assert (record.progress.step, record.progress.total) == (1, 1)
        outcome, record = await start(bad_input)
        assert outcome == "failed" and record.error.type == "validation"
        assert "multiple of 8" in record.error.message
        # An engine's own checks read as the HTTP route answers them (errors.py): validation.
        for work, words in ((engine_value_error, "square"), (engine_invalid_input, "ControlNet")):
            outcome, record = await start(work)
            assert outcome == "failed" and record.error.type == "validation"
            assert words in record.error.message
        outcome, record = await start(crash)
        assert outcome == "failed" and record.error.type == "internal"
        assert "secret" not in record.error.message and record.job_id in record.error.message

    scenario(redis_server, body)


def test_a_step_after_cancel_stops_the_work_in_its_thread(redis_server):
    async def body(store, _client):
        job_id = new_job_id()
        await store.create(job_id, "generation")
        steps_done = []
        cancelled = threading.Event()

        def model_call(report: StepProgressReporter):
            for step in range(1, 101):
                steps_done.append(step)
                report(step, 100)
                if step == 3:
                    cancelled.wait(30)
                time.sleep(0.02)  # a denoising step: progress is written meanwhile

        async def work(report):
            await anyio.to_thread.run_sync(model_call, report)
            return {}

        async def cancel_when_running():
            while (await store.get(job_id)).progress.step < 3:
                await asyncio.sleep(0.001)
            await store.cancel(job_id)
            cancelled.set()

        outcome, _ = await asyncio.gather(run_tracked(store, job_id, work), cancel_when_running())
        assert outcome == "cancelled" and (await store.get(job_id)).state == "cancelled"
        # Progress is written in the background: the run stops at the first step after the write
        # that saw the cancel, long before its 100 steps.
        assert 3 < len(steps_done) < 100

    scenario(redis_server, body)


def test_a_stopping_worker_puts_the_job_back_in_the_queue(redis_server):
    from arq.worker import Retry

    async def body(store, _client):
        job_id = new_job_id()
        await store.create(job_id, "generation")
        stopping = threading.Event()
        stopping.set()

        async def work(report):
            await anyio.to_thread.run_sync(report, 1, 10)
            return {}

        with pytest.raises(Retry):
            await run_tracked(store, job_id, work, stopping=stopping)
        record = await store.get(job_id)
        assert record.state == "queued" and record.progress.step == 0

    scenario(redis_server, body)


def test_a_job_past_its_time_limit_stops_and_fails(redis_server):
    async def body(store, _client):
        job_id = new_job_id()
        await store.create(job_id, "generation")
        steps_done = []

        def model_call(report: StepProgressReporter):
            for step in range(1, 10_001):
                steps_done.append(step)
                report(step, 10_000)
                time.sleep(0.001)  # a denoising step (10 s in all)

        async def work(report):
            await anyio.to_thread.run_sync(model_call, report)
            return {}

        outcome = await run_tracked(store, job_id, work, timeout_s=0.05)
        record = await store.get(job_id)
        assert outcome == "failed" and record.state == "failed"
        assert "time limit of 0.05 s" in record.error.message
        assert len(steps_done) < 10_000

    scenario(redis_server, body)
