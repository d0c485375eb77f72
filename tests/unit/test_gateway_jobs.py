"""The RAG job record and its progress (gateway/jobs.py) on a real Redis."""

from __future__ import annotations

import asyncio
import threading

import pytest

from gateway.jobs import KIND, JobProgressReporter, RagJobStore
from services.common.jobs import (
    JobCancelled,
    JobInterrupted,
    JobTimedOut,
    connect_redis,
    new_job_id,
    run_tracked,
)


def scenario(redis_server, body):
    async def main():
        client = connect_redis(redis_server.url)
        try:
            return await body(RagJobStore(client, ttl_s=600), client)
        finally:
            await client.aclose()

    return asyncio.run(main())


def test_stage_and_generation_job_are_recorded_while_running(redis_server):
    async def body(store: RagJobStore, client):
        job_id = new_job_id()
        await store.create(job_id, KIND)
        progress = JobProgressReporter(store, job_id)
        # Not running yet: nothing is written, and the flow is told to stop.
        with pytest.raises(JobCancelled):
            await progress.stage("retrieval")
        assert (await store.rag_job(job_id)).stage is None
        assert await store.start(job_id)
        await progress.stage("retrieval")
        await progress.stage("generation")
        await progress.generation_submitted("f" * 32)
        await progress.generation_progress(3, 40)
        job = await store.rag_job(job_id)
        assert (job.state, job.stage, job.generation_job_id) == ("running", "generation", "f" * 32)
        assert (job.progress.step, job.progress.total) == (3, 40)
        assert 0 < await client.ttl(store.key(job_id)) <= 600
        # A job of another kind under this namespace is no RAG job.
        other = new_job_id()
        await store.create(other, "generation")
        assert await store.rag_job(other) is None

    scenario(redis_server, body)


def test_a_cancel_stops_the_flow_at_the_next_report(redis_server):
    async def body(store: RagJobStore, _client):
        job_id = new_job_id()
        await store.create(job_id, KIND)
        progress = JobProgressReporter(store, job_id)

        async def work(_steps):
            await progress.stage("retrieval")
            await store.cancel(job_id)  # another replica's DELETE, while this one runs
            await progress.stage("captioning")
            raise AssertionError("the flow went on past a cancel")

        assert await run_tracked(store, job_id, work) == "cancelled"
        job = await store.rag_job(job_id)
        assert (job.state, job.stage, job.cancel_requested) == ("cancelled", "retrieval", True)

    scenario(redis_server, body)


def test_a_stopping_worker_and_the_time_limit_stop_the_flow(redis_server):
    async def body(store: RagJobStore, _client):
        job_id = new_job_id()
        await store.create(job_id, KIND)
        await store.start(job_id)
        stopping = threading.Event()
        progress = JobProgressReporter(store, job_id, stopping=stopping)
        await progress.generation_progress(1, 10)
        stopping.set()
        with pytest.raises(JobInterrupted):
            await progress.generation_progress(2, 10)
        late = JobProgressReporter(store, job_id, timeout_s=1e-9)
        with pytest.raises(JobTimedOut):
            await late.stage("fusion")

    scenario(redis_server, body)


def test_a_cache_hit_is_a_job_that_is_done_when_created(redis_server):
    from services.common.contracts.gateway import CacheInfo, FusedPrompt, RagResponse

    answer = RagResponse(
        references=[],
        captions=[],
        prompt=FusedPrompt(text="kawung", parts=[], tokens=3, truncated=False, cut=[]),
        images=[],
        seed=None,
        timings_ms={"cache": 0.4, "total": 0.5},
        cache=CacheInfo(hit=True, key="k"),
        degraded=[],
    )

    async def body(store: RagJobStore, _client):
        job = await store.create_answered(answer, "anonymous")
        assert job.state == "succeeded" and job.kind == KIND
        assert job.result == answer

    scenario(redis_server, body)
