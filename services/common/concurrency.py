"""Bounded offload of blocking model calls from the event loop.

Handlers never run a model on the event loop. `InflightLimiter.run` moves the call to a worker thread
and counts calls in flight (running or waiting for the engine's lock); past the bound it answers 429 with
`Retry-After` at once instead of queueing without limit.
"""

from __future__ import annotations

from collections.abc import Callable
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

    async def run(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        if self.inflight >= self.max_inflight:
            raise BusyError(
                f"{self.inflight} requests are already in flight; retry shortly",
                retry_after_s=self.retry_after_s,
            )
        self.inflight += 1
        try:
            return await anyio.to_thread.run_sync(partial(fn, *args, **kwargs))
        finally:
            self.inflight -= 1
