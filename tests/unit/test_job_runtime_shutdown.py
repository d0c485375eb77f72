"""A service's shutdown ends even when its job worker will not: the lifespan waits a bounded time."""

from __future__ import annotations

import asyncio
import threading
import time
from types import SimpleNamespace

from services.common import job_runtime as runtime
from tests.helpers import free_port


class StubbornWorker:
    """An arq worker that swallows its cancellation and waits on, as arq's close() does for a job
    task that caught it."""

    pool = SimpleNamespace(aclose=lambda: asyncio.sleep(0))

    async def async_run(self) -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            await asyncio.Event().wait()  # only a second cancellation ends it

    async def close(self) -> None:
        pass


def test_shutdown_leaves_a_worker_that_ignores_its_cancellation_behind(monkeypatch):
    monkeypatch.setattr(runtime, "STOP_GRACE_S", 0.3)
    settings = SimpleNamespace(redis_timeout_s=0.5, job_watchdog_s=0.05, job_timeout_s=5)
    app = SimpleNamespace(state=SimpleNamespace(settings=settings, ready=True, load_error=None))
    lifespan = runtime.job_runtime(
        redis_url=lambda s: f"redis://127.0.0.1:{free_port()}/0",  # nothing listens: Redis down
        make_queue=lambda redis, s: SimpleNamespace(
            redis=redis, queue_name="q", store=SimpleNamespace(namespace="test:job")
        ),
        build_worker=lambda app, stopping: StubbornWorker(),
        setting_name="TEST_REDIS_URL",
    )

    async def start_and_stop() -> float:
        async with lifespan(app):
            await asyncio.sleep(0.2)  # the worker runs, the watchdog sweeps a dead Redis
            started = time.monotonic()
        return time.monotonic() - started

    # In a thread of its own: a shutdown that hangs fails the test instead of hanging the run.
    stopped_in: list[float] = []
    thread = threading.Thread(target=lambda: stopped_in.append(asyncio.run(start_and_stop())))
    thread.daemon = True
    thread.start()
    thread.join(timeout=20)
    assert stopped_in and stopped_in[0] < 10, "the lifespan did not end"
