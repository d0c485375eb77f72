"""Library service: the designs and boards of every owner, in SQL and a file store (port 8004).

Internal: only the gateway calls it, naming the owner in `X-Owner-Id`. At start the lifespan applies
the database migrations, opens the store and sweeps files left by a crash mid-save; retention and the
sweep then run every LIBRARY_SWEEP_INTERVAL_S.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import AsyncIterator, Callable

import anyio.to_thread
from fastapi import FastAPI
from prometheus_client import Counter, Gauge

from services.common.app import create_service_app
from services.library import migrate
from services.library.api import router
from services.library.config import LibrarySettings
from services.library.files import FileStore
from services.library.store import LibraryStore

log = logging.getLogger(__name__)


def _migrate_when_reachable(settings: LibrarySettings) -> None:
    """Migrate, waiting up to LIBRARY_DB_WAIT_S for a database that is still starting (compose)."""
    from sqlalchemy.exc import OperationalError

    deadline = time.monotonic() + settings.db_wait_s
    delay = 0.5
    while True:
        try:
            migrate.upgrade(settings.database_url)
            return
        except OperationalError as exc:
            if time.monotonic() + delay > deadline:
                raise
            log.warning("database not reachable yet (%s); retrying", exc.orig.__class__.__name__)
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


def open_store(settings: LibrarySettings) -> LibraryStore:
    if settings.migrate_on_start:
        _migrate_when_reachable(settings)
    store = LibraryStore(
        settings.database_url,
        FileStore(settings.dir),
        max_designs_per_owner=settings.max_designs_per_owner,
        pool_size=settings.db_pool_size,
        search_threads=settings.search_threads,
    )
    upkeep(store, settings)
    return store


def upkeep(store: LibraryStore, settings: LibrarySettings) -> None:
    """Retention, then files no row names (a crash between file and row leaves one)."""
    if settings.retention_days is not None:
        removed = store.sweep_retention(settings.retention_days)
        if removed:
            log.info(
                "retention: deleted %d designs older than %d days", removed, settings.retention_days
            )
    swept = store.sweep_files(grace_s=settings.sweep_grace_s)
    if swept:
        log.info("sweep: removed %d files no design names", swept)


class LibraryMetrics:
    def __init__(self, app: FastAPI) -> None:
        registry = app.state.metrics.registry
        self.saved = Counter("batik_library_designs_saved", "Designs saved", registry=registry)
        self.deleted = Counter(
            "batik_library_designs_deleted", "Designs deleted", registry=registry
        )
        self._stats: tuple[float, float] = (math.nan, math.nan)
        Gauge(
            "batik_library_designs", "Designs in the library (every owner)", registry=registry
        ).set_function(lambda: self._read(app)[0])
        Gauge(
            "batik_library_store_bytes",
            "Bytes of the stored design PNGs (thumbnails not counted)",
            registry=registry,
        ).set_function(lambda: self._read(app)[1])

    def _read(self, app: FastAPI) -> tuple[float, float]:
        store = app.state.engine
        if store is None:
            return (math.nan, math.nan)
        try:
            self._stats = tuple(float(v) for v in store.stats())  # type: ignore[assignment]
        except Exception:  # a scrape must not fail because the database is down
            log.warning("library stats unavailable", exc_info=True)
            return (math.nan, math.nan)
        return self._stats


def _periodic_upkeep(app: FastAPI):
    @contextlib.asynccontextmanager
    async def run() -> AsyncIterator[None]:
        settings: LibrarySettings = app.state.settings

        async def loop() -> None:
            while True:
                await asyncio.sleep(settings.sweep_interval_s)
                if app.state.ready:
                    try:
                        await anyio.to_thread.run_sync(upkeep, app.state.engine, settings)
                    except Exception:
                        log.exception(
                            "library upkeep failed; next try in %s s", settings.sweep_interval_s
                        )

        task = asyncio.create_task(loop())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            if app.state.engine is not None:
                app.state.engine.close()

    return run()


def _describe(store: LibraryStore) -> dict[str, object]:
    return {"database": store.engine.dialect.name, "files": str(store.files.root)}


def create_app(
    settings: LibrarySettings | None = None,
    loader: Callable[[LibrarySettings], LibraryStore] | None = None,
) -> FastAPI:
    settings = settings or LibrarySettings()
    load = loader or open_store
    app = create_service_app(
        operation_prefix="library",
        name="library",
        title="Batik Nitik library",
        description="Every generated design with its provenance, per owner: list, filter, "
        "boards, thumbnails, nearest designs by CLIP embedding, settings read back from PNGs. "
        "Internal: the gateway calls it with `X-Owner-Id`.",
        settings=settings,
        load=lambda: load(settings),
        describe=_describe,
        routers=[router],
        max_body_bytes=settings.max_body_bytes,
        extra_lifespan=_periodic_upkeep,
    )
    app.state.library_metrics = LibraryMetrics(app)
    return app


app = create_app()
