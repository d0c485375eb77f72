"""The generation job worker: an arq worker whose one function runs a generation as a tracked job.

It runs in two places (the same code): inside the service process when `GENERATION_JOB_WORKER` is
true (the default: one process serves the API and runs jobs), and as `batik worker generation`, a
process with no HTTP that only runs jobs (one per GPU; several share the queue). Either way it takes
one job at a time: the engine runs one pipeline call at a time.
"""

from __future__ import annotations

import logging
import threading
from functools import partial
from typing import Any

import anyio.to_thread

from services.common.contracts.generation import GenerateJobResult, GenerateRequest
from services.common.images import encode_png
from services.common.jobs import (
    JobQueue,
    JobStore,
    StepProgressReporter,
    connect_redis,
    run_tracked,
)
from services.generation.config import GenerationSettings
from services.generation.generator import SdGenerator
from services.generation.inputs import checked_images

log = logging.getLogger(__name__)

KIND = "generation"
FUNCTION = "generate"
NAMESPACE = "batik:generation:job"


def image_name(n: int) -> str:
    return f"image-{n}"


def job_store(redis: Any, settings: GenerationSettings) -> JobStore:
    return JobStore(redis, namespace=NAMESPACE, ttl_s=settings.job_ttl_s)


def job_queue(redis: Any, settings: GenerationSettings) -> JobQueue:
    return JobQueue(
        redis,
        job_store(redis, settings),
        queue_name=settings.job_queue_name,
        max_length=settings.job_queue_max,
    )


async def generate_job(ctx: dict[str, Any], job_id: str, payload: dict[str, Any]) -> str:
    engine: SdGenerator = ctx["engine"]
    store: JobStore = ctx["store"]
    settings: GenerationSettings = ctx["settings"]

    async def work(progress: StepProgressReporter) -> dict[str, Any]:
        request = GenerateRequest.model_validate(payload)
        images = checked_images(request, settings)
        # The model call runs in a thread; `progress` hops back to this loop after every step.
        result = await anyio.to_thread.run_sync(
            partial(engine.generate, request, images.init, progress, control_image=images.control)
        )
        # Images first, so a succeeded record never points at missing PNGs.
        for n, image in enumerate(result.images):
            png = await anyio.to_thread.run_sync(encode_png, image)
            await store.put_blob(job_id, image_name(n), png)
        urls = [f"/v1/jobs/{job_id}/images/{n}" for n in range(len(result.images))]
        summary = result.summary(engine.source).model_dump()
        return GenerateJobResult(**summary, images=urls).model_dump()

    return await run_tracked(
        store, job_id, work, stopping=ctx["stopping"], timeout_s=settings.job_timeout_s
    )


def build_worker(
    settings: GenerationSettings,
    engine: SdGenerator,
    *,
    stopping: threading.Event,
    handle_signals: bool,
):
    from arq import Worker, func

    if not settings.redis_url:
        raise ValueError("GENERATION_REDIS_URL is not set: a job worker needs Redis")
    redis = connect_redis(settings.redis_url, settings.redis_timeout_s)
    return Worker(
        # Up to 3 tries: a job whose worker died or was stopped mid-run is run again elsewhere.
        # The time limit is enforced between steps by run_tracked; arq's is only a backstop.
        functions=[
            func(generate_job, name=FUNCTION, max_tries=3, timeout=settings.job_timeout_s + 60)
        ],
        queue_name=settings.job_queue_name,
        redis_pool=redis,
        max_jobs=1,
        poll_delay=settings.job_poll_s,
        keep_result=60,  # arq's own result is unused: the job record holds ours
        handle_signals=handle_signals,
        ctx={
            "engine": engine,
            "store": job_store(redis, settings),
            "settings": settings,
            "stopping": stopping,
        },
    )


def main(settings: GenerationSettings | None = None) -> int:
    """`batik worker generation`: load the model, then run jobs until SIGINT/SIGTERM."""
    from services.common.logging import configure_logging
    from services.generation.generator import load_generator

    settings = settings or GenerationSettings()
    if not settings.redis_url:
        raise ValueError("GENERATION_REDIS_URL is not set: a job worker needs Redis")
    configure_logging(settings.log_level, "generation-worker")
    engine = load_generator(settings)
    log.info("generation worker ready: %s", engine.describe())
    stopping = threading.Event()
    worker = build_worker(settings, engine, stopping=stopping, handle_signals=True)
    # A running job stops at its next step and goes back to the queue.
    worker.on_stop = lambda _signal: stopping.set()
    worker.run()
    return 0
