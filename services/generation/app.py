"""Generation service: Stable Diffusion 1.5 img2img / txt2img (port 8003), synchronous and as jobs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator, Callable

from fastapi import FastAPI

from services.common.app import create_service_app
from services.common.jobs import connect_redis
from services.generation.api import router
from services.generation.config import GenerationSettings
from services.generation.generator import SdGenerator, load_generator
from services.generation.jobs_api import router as jobs_router
from services.generation.worker import build_worker, job_queue

log = logging.getLogger(__name__)
# Pause before a job worker that lost Redis is rebuilt.
WORKER_RESTART_S = 1.0


def default_loader(settings: GenerationSettings) -> SdGenerator:
    return load_generator(settings)


async def _run_worker_when_ready(app: FastAPI, stopping: threading.Event) -> None:
    # The worker shares the engine the service loads in the background: start it once loaded.
    while not app.state.ready:
        if app.state.load_error:
            return
        await asyncio.sleep(0.1)
    # A worker whose Redis goes away raises out of its loop; without a new one, jobs accepted after
    # Redis is back would stay queued forever. Rebuild it after a pause until the service stops.
    while not stopping.is_set():
        worker = build_worker(
            app.state.settings, app.state.engine, stopping=stopping, handle_signals=False
        )
        try:
            await worker.async_run()
            return
        except Exception as exc:
            log.warning("job worker stopped (%s: %s); restarting it", type(exc).__name__, exc)
        finally:
            with contextlib.suppress(Exception):  # closing talks to Redis, which may be down
                await worker.close()
            with contextlib.suppress(Exception):
                await worker.pool.aclose()
        await asyncio.sleep(WORKER_RESTART_S)


@contextlib.asynccontextmanager
async def job_runtime(app: FastAPI) -> AsyncIterator[None]:
    """The job queue on `app.state.jobs` (None without Redis) and, if asked, an in-process worker."""
    settings: GenerationSettings = app.state.settings
    app.state.jobs = None
    if not settings.redis_url:
        log.info("GENERATION_REDIS_URL is not set: job routes answer 503")
        yield
        return
    redis = connect_redis(settings.redis_url)
    app.state.jobs = job_queue(redis, settings)
    stopping = threading.Event()
    worker = (
        asyncio.create_task(_run_worker_when_ready(app, stopping)) if settings.job_worker else None
    )
    try:
        yield
    finally:
        # A running job stops at its next step and goes back to the queue for another worker.
        stopping.set()
        if worker is not None:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker
        await redis.aclose()


def create_app(
    settings: GenerationSettings | None = None,
    loader: Callable[[GenerationSettings], SdGenerator] | None = None,
) -> FastAPI:
    settings = settings or GenerationSettings()
    load = loader or default_loader
    return create_service_app(
        name="generation",
        title="Batik Nitik generation",
        description="Stable Diffusion 1.5 img2img from a retrieved reference motif, or txt2img; "
        "synchronous (/v1/generate) or as jobs with progress and cancel (/v1/jobs).",
        settings=settings,
        load=lambda: load(settings),
        describe=lambda engine: engine.describe(),
        routers=[router, jobs_router],
        extra_lifespan=job_runtime,
    )


app = create_app()
