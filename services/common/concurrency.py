"""A bound on work in flight: past it, refuse at once (429 with `Retry-After`) instead of queueing
without limit.

Handlers never run a model on the event loop. `InflightLimiter.run` moves a blocking call to a worker
thread and counts calls in flight (running or waiting for the engine's lock); `InflightLimiter.admit`
counts awaitables that stay on the loop (the gateway's RAG flows, which wait on upstreams).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, TypeVar

import anyio.to_thread

from services.common.errors import BusyError

T = TypeVar("T")


class InflightLimiter:
    def __init__(self, max_inflight: int, retry_after_s: int = 1) -> None:
        self.max_inflight = max_inflight
        self.retry_after_s = retry_after_s
        self.inflight = 0

    def _refuse(self) -> BusyError:
        return BusyError(
            f"{self.inflight} requests are already in flight; retry shortly",
            retry_after_s=self.retry_after_s,
        )

    async def run(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """`fn(*args, **kwargs)` in a worker thread, counted."""
        if self.inflight >= self.max_inflight:
            raise self._refuse()
        self.inflight += 1
        try:
            return await anyio.to_thread.run_sync(partial(fn, *args, **kwargs))
        finally:
            self.inflight -= 1

    async def admit(self, work: Awaitable[T]) -> T:
        """Await `work` on this loop, counted; a refused coroutine is closed, never started."""
        if self.inflight >= self.max_inflight:
            close = getattr(work, "close", None)
            if close:
                close()
            raise self._refuse()
        self.inflight += 1
        try:
            return await work
        finally:
            self.inflight -= 1
