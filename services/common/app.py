"""The FastAPI app every model service builds: lifespan loading, middleware, errors, health.

Models load in a worker thread after startup, so `/healthz` answers at once and `/readyz` says 503 until
the engine is on `app.state.engine`. A loader that fails leaves the service up and not ready, with the
reason in `/readyz`, instead of a crash loop that hides it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from typing import Any

import anyio.to_thread
from fastapi import APIRouter, FastAPI

from services.common.bodylimit import BodySizeLimitMiddleware
from services.common.concurrency import InflightLimiter
from services.common.errors import install_error_handlers
from services.common.health import router as health_router
from services.common.logging import RequestIdMiddleware, configure_logging
from services.common.metrics import MetricsMiddleware, ServiceMetrics
from services.common.metrics import router as metrics_router
from services.common.openapi import install_openapi
from services.common.settings import BaseServiceSettings

log = logging.getLogger(__name__)

# JSON carries images as base64 (4/3 of their size) plus a little text.
_JSON_OVERHEAD_BYTES = 64 * 1024


def create_service_app(
    *,
    name: str,
    title: str,
    description: str,
    settings: BaseServiceSettings,
    load: Callable[[], Any],
    routers: Iterable[APIRouter],
    describe: Callable[[Any], dict[str, Any]] | None = None,
    version: str = "0.1.0",
    images_per_request: int = 1,
    max_body_bytes: int | None = None,
    extra_lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]] | None = None,
    operation_prefix: str = "",
) -> FastAPI:
    """`extra_lifespan(app)`, if given, is entered once loading has started and left before the
    engine closes: background work such as a job worker (it waits for `app.state.ready` itself).
    `max_body_bytes` replaces the body cap derived from the upload limit (bodies with more text).
    `describe(engine)` is what /readyz adds; by default the engine's own `describe()`.
    `operation_prefix` starts every operation id of an internal service (`retrievalSearch`), so the
    specs of all services merge without a clash; the public gateway has none."""
    describe = describe or (lambda engine: engine.describe())

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        configure_logging(settings.log_level, name, json_lines=settings.log_format == "json")
        state = app.state
        state.ready, state.engine, state.load_error = False, None, None

        async def load_engine() -> None:
            try:
                state.engine = await anyio.to_thread.run_sync(load)
                state.ready = True
                log.info("%s ready: %s", name, describe(state.engine))
            except Exception as exc:  # the reason is served by /readyz
                log.exception("%s failed to load", name)
                state.load_error = f"{exc.__class__.__name__}: {exc}"

        loading = asyncio.create_task(load_engine())
        try:
            async with extra_lifespan(app) if extra_lifespan else nullcontext():
                yield
        finally:
            loading.cancel()
            if hasattr(state.engine, "aclose"):
                await state.engine.aclose()

    app = FastAPI(title=title, description=description, version=version, lifespan=lifespan)
    app.state.settings = settings
    app.state.limiter = InflightLimiter(settings.max_inflight)
    app.state.metrics = ServiceMetrics(name)
    app.state.metrics.track_inflight(lambda: app.state.limiter.inflight, settings.max_inflight)
    app.state.ready = False
    app.state.describe = lambda: describe(app.state.engine)
    install_error_handlers(app)
    app.add_middleware(
        BodySizeLimitMiddleware,
        # A batch request (captioning) carries up to `images_per_request` images.
        max_bytes=max_body_bytes
        or settings.max_upload_bytes * 4 // 3 * images_per_request + _JSON_OVERHEAD_BYTES,
    )
    app.add_middleware(RequestIdMiddleware)
    # Outermost, so refusals by the layers inside (413, 5xx) are counted too.
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    app.include_router(health_router)
    app.include_router(metrics_router)
    for router in routers:
        app.include_router(router)
    install_openapi(app, prefix=operation_prefix)
    return app
