"""A bound on work in flight: past it, refuse at once (429 with `Retry-After`) instead of queueing
without limit.

Handlers never run a model on the event loop. `InflightLimiter.run` moves a blocking call to a worker
thread and counts calls in flight (running or waiting for the engine's lock); `InflightLimiter.admit`
counts awaitables that stay on the loop (the gateway's RAG flows, which wait on upstreams).
`PixelBudget` bounds the memory that image decoding may take at once in one process; `hold_pixels`
and `run_in_budget` hold it where a budget may be absent (offline tools build limits without one).
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
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


class PixelBudget:
    """Decoded pixels this process may hold in full-size decode buffers at once.

    The pixel cap bounds one image and the byte cap one body, but a 4096x4096 PNG is 130 KB, so
    16 of them decoded at once take gigabytes. A decoder takes its image's pixel count from the
    budget before it allocates and gives it back once the model-sized copy exists; when the
    budget is spent it waits up to `wait_s`, then refuses with 429 and `Retry-After` (as the
    in-flight bound does). Decoders run in worker threads, so this is a thread-side budget.
    """

    def __init__(self, capacity_pixels: int, wait_s: float = 5.0, retry_after_s: int = 1) -> None:
        self.capacity = capacity_pixels
        self.wait_s = wait_s
        self.retry_after_s = retry_after_s
        self.held = 0
        self._room = threading.Condition()

    @contextmanager
    def hold(self, pixels: int) -> Iterator[None]:
        # One image larger than the whole budget may still run, alone.
        pixels = min(pixels, self.capacity)
        with self._room:
            if not self._room.wait_for(
                lambda: self.held + pixels <= self.capacity, timeout=self.wait_s
            ):
                raise BusyError(
                    f"images being decoded hold {self.held} of this service's "
                    f"{self.capacity} decoded pixels; retry shortly",
                    retry_after_s=self.retry_after_s,
                )
            self.held += pixels
        try:
            yield
        finally:
            with self._room:
                self.held -= pixels
                self._room.notify_all()


def hold_pixels(budget: PixelBudget | None, pixels: int) -> AbstractContextManager[None]:
    """`budget.hold(pixels)`; nothing to hold without a budget (offline tools such as ingest)."""
    return budget.hold(pixels) if budget is not None else nullcontext()


def run_in_budget(budget: PixelBudget | None, pixels: int, work: Callable[[], T]) -> T:
    """`work()` holding `pixels` of `budget`: a sync callable for a worker thread, whose full-size
    buffers (a page, an upscale) are decoded pixels too."""
    with hold_pixels(budget, pixels):
        return work()
