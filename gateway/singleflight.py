"""Single flight: concurrent calls with the same key share one execution.

On a cache miss, a hundred identical requests that arrive together would each run the whole RAG flow
(a hundred generations). The first one runs it; the others await its result. The work runs in its own
task, so a caller that goes away (cancelled) does not cancel it for the others; when the last one
has gone, the work is cancelled (nobody would read it, and it may hold a generation). Per process: replicas
of the gateway each run a flow at most once per key at a time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class SingleFlight(Generic[T]):
    def __init__(self) -> None:
        self._flights: dict[str, asyncio.Future[T]] = {}
        self._waiting: dict[str, int] = {}  # callers still awaiting each flight
        self.shared = 0  # calls that joined a flight already running, for metrics

    def __len__(self) -> int:
        return len(self._flights)

    async def do(self, key: str, work: Callable[[], Awaitable[T]]) -> tuple[T, bool]:
        """The result of `work()` and whether it was shared with a flight already running."""
        flight = self._flights.get(key)
        shared = flight is not None
        if flight is None:
            flight = asyncio.ensure_future(work())
            self._flights[key] = flight
            self._waiting[key] = 0
            flight.add_done_callback(lambda done: self._land(key, done))
        else:
            self.shared += 1
        self._waiting[key] += 1
        try:
            return await asyncio.shield(flight), shared
        except asyncio.CancelledError:
            if self._flights.get(key) is flight:
                self._waiting[key] -= 1
                if not self._waiting[key]:
                    flight.cancel()
            raise

    def _land(self, key: str, flight: asyncio.Future[T]) -> None:
        if self._flights.get(key) is flight:
            del self._flights[key]
            del self._waiting[key]
        if not flight.cancelled():
            flight.exception()  # retrieved here, so an error nobody awaited is not logged as lost
