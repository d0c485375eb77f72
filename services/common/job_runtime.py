"""The job machinery a service runs in its lifespan: the queue on `app.state.jobs` (None without
Redis) and, when asked, an arq worker inside the process. Generation and the gateway both use it.

The worker starts once the service's engine is loaded (it works with it), and is rebuilt with
backoff whenever it stops on an error: a Redis that goes away must not leave jobs accepted after it
comes back queued forever, nor take the service down with it. A watchdog (services/common/
job_watchdog.py) fails the jobs whose queue entry or worker vanished, so none stays queued or running
forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

from services.common.job_watchdog import JobWatchdog, OnFailed, QuietCheck
from services.common.jobs import JobQueue, connect_redis

log = logging.getLogger(__name__)
FIRST_RESTART_S = 1.0
MAX_RESTART_S = 30.0
# How long shutdown waits for the worker and the watchdog to stop once cancelled. A job task that
# swallows its cancellation (arq's close() waits for its job tasks) must not hang the process: its
# job stays marked in progress and arq runs it again elsewhere after its time limit.
STOP_GRACE_S = 10.0


async def _run_worker_when_ready(
    app: Any, stopping: threading.Event, build_worker: Callable[[Any, threading.Event], Any]
) -> None:
    while not app.state.ready:
        if app.state.load_error:
            return
        await asyncio.sleep(0.1)
    pause = FIRST_RESTART_S
    while not stopping.is_set():
        worker = build_worker(app, stopping)
        try:
            await worker.async_run()
            return
        except Exception as exc:
            log.warning(
                "job worker stopped (%s: %s); restarting in %.0f s",
                type(exc).__name__,
                exc,
                pause,
            )
        finally:
            with contextlib.suppress(Exception):  # closing talks to Redis, which may be down
                await worker.close()
            with contextlib.suppress(Exception):
                await worker.pool.aclose()
        await asyncio.sleep(pause)
        pause = min(pause * 2, MAX_RESTART_S)


async def _stop(*tasks: asyncio.Task | None) -> None:
    """Cancel `tasks` and wait for them, at most STOP_GRACE_S."""
    running = {task for task in tasks if task is not None}
    for task in running:
        task.cancel()
    if not running:
        return
    _, stuck = await asyncio.wait(running, timeout=STOP_GRACE_S)
    for task in stuck:
        log.warning(
            "%s did not stop within %.0f s of shutdown; left behind", task.get_name(), STOP_GRACE_S
        )


def job_runtime(
    *,
    redis_url: Callable[[Any], str | None],
    make_queue: Callable[[Any, Any], JobQueue],
    build_worker: Callable[[Any, threading.Event], Any] | None,
    setting_name: str,
    quiet_check: Callable[[Any], QuietCheck] | None = None,
    on_failed: Callable[[Any], OnFailed] | None = None,
) -> Callable[[Any], contextlib.AbstractAsyncContextManager[None]]:
    """An `extra_lifespan` for `create_service_app`.

    `redis_url(settings)` (None: no jobs) and `make_queue(redis, settings)` describe the queue;
    `build_worker(app, stopping)` makes an arq worker (None: this process only submits and reads
    jobs); `quiet_check(app)`, the watchdog's look at a quiet running job (job_watchdog.py); `on_failed(app)`, told of each job the watchdog fails.
    """

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        settings = app.state.settings
        app.state.jobs = None
        url = redis_url(settings)
        if not url:
            log.info("%s is not set: the job routes answer 503", setting_name)
            yield
            return
        redis = connect_redis(url, settings.redis_timeout_s)
        app.state.jobs = make_queue(redis, settings)
        stopping = threading.Event()
        worker = (
            asyncio.create_task(
                _run_worker_when_ready(app, stopping, build_worker), name="job worker"
            )
            if build_worker is not None
            else None
        )
        watchdog = JobWatchdog(
            app.state.jobs,
            grace_s=settings.job_watchdog_s,
            stale_s=settings.job_timeout_s + 2 * settings.job_watchdog_s,
            quiet_check=quiet_check(app) if quiet_check is not None else None,
            on_failed=on_failed(app) if on_failed is not None else None,
        )
        watching = asyncio.create_task(watchdog.run(settings.job_watchdog_s), name="job watchdog")
        try:
            yield
        finally:
            # A running job stops at its next step or stage and goes back to the queue for
            # another worker.
            stopping.set()
            await _stop(watching, worker)
            with contextlib.suppress(Exception):
                await redis.aclose()

    return lifespan
