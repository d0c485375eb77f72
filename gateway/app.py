"""The gateway (port 8000): the only public door. Orchestrates retrieval, captioning and
generation, fuses the prompt, and caches answers in Redis; checks API keys, rate-limits per key,
answers CORS from an allow-list, and breaks the circuit to upstreams that keep failing. With Redis it
also runs RAG jobs (gateway/jobs.py): an arq worker inside this process, saves the designs its
answers name from the outbox in the job Redis (gateway/saving.py), and delivers the jobs' webhooks
from theirs (gateway/webhooks.py)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from gateway.api import router
from gateway.composition import Gateway, load_token_counter
from gateway.config import GatewaySettings
from gateway.export_api import EXPORT_HEADERS
from gateway.export_api import router as export_router
from gateway.jobs import build_worker, generation_job_check, job_queue, report_end
from gateway.jobs_api import router as jobs_router
from gateway.library_api import router as library_router
from gateway.metrics import GatewayMetrics
from gateway.rate_headers import RateLimitHeadersMiddleware
from gateway.security import API_KEY_HEADER, ApiKeyAuth
from gateway.signed_api import router as signed_router
from services.common.app import create_service_app
from services.common.job_runtime import STOP_GRACE_S
from services.common.job_runtime import job_runtime as job_runtime_for
from services.common.logging import REQUEST_ID_HEADER
from services.common.openapi import RATE_LIMIT_HEADERS

log = logging.getLogger(__name__)


def default_loader(settings: GatewaySettings) -> Gateway:
    return Gateway(settings, load_token_counter(settings))


def job_runtime(app: FastAPI):
    """RAG jobs: the queue, and (GATEWAY_JOB_WORKER) a worker sharing this gateway's clients."""
    settings: GatewaySettings = app.state.settings
    return job_runtime_for(
        redis_url=lambda s: s.job_store_url,
        make_queue=lambda redis, s: job_queue(redis, s),
        build_worker=(
            lambda app, stopping: build_worker(
                app.state.settings,
                app.state.engine,
                stopping=stopping,
                observe=app.state.gateway_metrics.observe,
            )
        )
        if settings.job_worker
        else None,
        # A RAG job whose generation job vanished fails within the watchdog's grace.
        quiet_check=lambda app: generation_job_check(
            app.state.jobs.store, lambda: getattr(app.state.engine, "generation", None)
        ),
        # A job the watchdog fails still sends its `job.finished` webhook.
        on_failed=lambda app: (
            lambda job_id: report_end(app.state.jobs.store, app.state.engine.webhooks, job_id)
        ),
        setting_name="GATEWAY_REDIS_URL",
    )(app)


@contextlib.asynccontextmanager
async def outbox_drain(
    app: FastAPI, name: str, drain_of: Callable[[Gateway], Callable[[], Awaitable[None]] | None]
) -> AsyncIterator[None]:
    """Runs `drain_of(gateway)` (None: nothing to drain) as a task once the gateway is loaded."""

    async def drain_when_ready() -> None:
        while not app.state.ready:
            if app.state.load_error:
                return
            await asyncio.sleep(0.1)
        drain = drain_of(app.state.engine)
        if drain is not None:
            await drain()

    task = asyncio.create_task(drain_when_ready(), name=name)
    try:
        yield
    finally:
        # A delivery cut short keeps its entry: its lease is given back, or it is due again once
        # the lease ends.
        task.cancel()
        await asyncio.wait([task], timeout=STOP_GRACE_S)


def design_drain(app: FastAPI) -> contextlib.AbstractAsyncContextManager[None]:
    """Saves the designs the outbox holds (gateway/saving.py)."""
    return outbox_drain(
        app,
        "design outbox drain",
        lambda gateway: (
            gateway.saver.drain
            if gateway.saver is not None and gateway.saver.outbox is not None
            else None
        ),
    )


def webhook_drain(app: FastAPI) -> contextlib.AbstractAsyncContextManager[None]:
    """Delivers the webhooks the outbox holds (gateway/webhooks.py): every gateway's, its own and
    those another left (stopped, died, or waiting out a backoff)."""
    return outbox_drain(
        app,
        "webhook outbox drain",
        lambda gateway: gateway.webhooks.drain if gateway.webhooks.outbox is not None else None,
    )


@contextlib.asynccontextmanager
async def background(app: FastAPI) -> AsyncIterator[None]:
    """What runs beside the routes: RAG jobs and the design and webhook outboxes' drains."""
    async with job_runtime(app), design_drain(app), webhook_drain(app):
        yield


def create_app(
    settings: GatewaySettings | None = None,
    loader: Callable[[GatewaySettings], Gateway] | None = None,
) -> FastAPI:
    settings = settings or GatewaySettings()
    load = loader or default_loader
    app = create_service_app(
        name="gateway",
        title="Batik Nitik RAG gateway",
        description="The public API of Batik Nitik RAG: retrieve reference motifs with CLIP, "
        "caption them with BLIP-2, fuse a prompt, and generate a new motif with Stable "
        "Diffusion img2img. Every error body is `{error: {type, message, request_id}}`.",
        settings=settings,
        load=lambda: load(settings),
        # The public /readyz answers only the state; upstream URLs and breakers are in /v1/status.
        describe=lambda _gateway: {},
        routers=[router, jobs_router, library_router, export_router, signed_router],
        extra_lifespan=background,
    )
    # Keys are checked before anything else on /v1, even while the engine loads.
    app.state.auth = ApiKeyAuth(settings.api_key_hashes, settings.admin_key_hashes)

    def flows_in_flight() -> int:
        gateway = getattr(app.state, "engine", None)
        return gateway.limiter.inflight if gateway is not None else 0

    app.state.metrics.track_inflight(flows_in_flight, settings.max_inflight)
    app.state.gateway_metrics = GatewayMetrics(app.state.metrics.registry, lambda: app.state.engine)
    app.add_middleware(RateLimitHeadersMiddleware)
    origins = settings.cors_origin_list
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            # Never credentials with a wildcard; keys travel in a header, not in cookies.
            allow_credentials="*" not in origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=[
                *("Content-Type", "Authorization", API_KEY_HEADER, REQUEST_ID_HEADER),
                "Idempotency-Key",
            ],
            expose_headers=[
                *(REQUEST_ID_HEADER, "Server-Timing", "Retry-After", "ETag", "Location"),
                *RATE_LIMIT_HEADERS,
                *EXPORT_HEADERS,
                "Idempotent-Replayed",
            ],
            max_age=600,
        )
    return app


app = create_app()
