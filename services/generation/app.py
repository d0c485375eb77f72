"""Generation service: Stable Diffusion 1.5 img2img / txt2img (port 8003), synchronous and as jobs."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI

from services.common.app import create_service_app
from services.common.job_runtime import job_runtime as job_runtime_for
from services.generation.api import router
from services.generation.config import GenerationSettings
from services.generation.generator import SdGenerator, load_generator
from services.generation.jobs_api import router as jobs_router
from services.generation.styles_api import router as styles_router
from services.generation.worker import build_worker, job_queue


def default_loader(settings: GenerationSettings) -> SdGenerator:
    return load_generator(settings)


def job_runtime(app: FastAPI):
    """Generation jobs: the queue, and (GENERATION_JOB_WORKER) a worker sharing the loaded engine."""
    settings: GenerationSettings = app.state.settings
    return job_runtime_for(
        redis_url=lambda s: s.redis_url,
        make_queue=lambda redis, s: job_queue(redis, s),
        # Signals stay uvicorn's: the service's own shutdown stops the worker.
        build_worker=(
            lambda app, stopping: build_worker(
                app.state.settings, app.state.engine, stopping=stopping, handle_signals=False
            )
        )
        if settings.job_worker
        else None,
        setting_name="GENERATION_REDIS_URL",
    )(app)


def create_app(
    settings: GenerationSettings | None = None,
    loader: Callable[[GenerationSettings], SdGenerator] | None = None,
) -> FastAPI:
    settings = settings or GenerationSettings()
    load = loader or default_loader
    return create_service_app(
        operation_prefix="generation",
        name="generation",
        title="Batik Nitik generation",
        description="Stable Diffusion 1.5 img2img from a retrieved reference motif, or txt2img; "
        "synchronous (/v1/generate) or as jobs with progress and cancel (/v1/jobs).",
        settings=settings,
        load=lambda: load(settings),
        routers=[router, jobs_router, styles_router],
        extra_lifespan=job_runtime,
    )


app = create_app()
