"""One client cannot take all of generation (issue 16, finding 8).

The rate limit counts requests, not the work they ask for, so one key could hold every generation
slot with a few long runs while everyone else got 429. `PerClientBound` caps the generating flows
one client (its API key, or its address with keys off) has in flight in this process; past it the
request is refused at once with 429 and `Retry-After`, and other clients are unaffected. Per
process, like the in-flight bound: N replicas allow N times as many.

The rate limit counts work too: `generation_cost` is what a generating request counts in its
key's window, growing with steps x pixels (the default 30 steps at 512x512 costs 1, 150 steps 5).

Only flows that run count in the bound: a cache hit or a request that joins an identical flight already running
generates nothing. So the route names the client in `GENERATING_CLIENT` and the bound is taken
where the orchestrator admits a flow to the upstreams (the single flight's task copies the
context, so the leader's client is the one counted).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from services.common.errors import BusyError

# The client of the generating request this task serves; None: not generating (or not a route).
GENERATING_CLIENT: ContextVar[str | None] = ContextVar("generating_client", default=None)


# Rate-limit units: one default generation (30 steps at 512x512) is 1.
UNIT_STEP_PIXELS = 30 * 512 * 512


def generation_cost(steps: int, width: int, height: int) -> int:
    """What a generation counts in the rate limit: ceil(steps x pixels / a default one), at least 1."""
    return max(1, math.ceil(steps * width * height / UNIT_STEP_PIXELS))


class PerClientBound:
    def __init__(self, max_per_client: int, retry_after_s: int = 1) -> None:
        self.max_per_client = max_per_client  # 0: off
        self.retry_after_s = retry_after_s
        self._running: dict[str, int] = {}

    def running(self, client: str) -> int:
        return self._running.get(client, 0)

    @contextmanager
    def hold(self, client: str | None) -> Iterator[None]:
        """One of `client`'s slots while the block runs; BusyError (429) when it has none left."""
        if client is None or not self.max_per_client:
            yield
            return
        if self.running(client) >= self.max_per_client:
            raise BusyError(
                f"this client already has {self.max_per_client} generating requests in flight "
                "(GATEWAY_MAX_GENERATIONS_PER_KEY); retry when one has finished",
                retry_after_s=self.retry_after_s,
            )
        self._running[client] = self.running(client) + 1
        try:
            yield
        finally:
            self._running[client] -= 1
            if not self._running[client]:
                del self._running[client]
