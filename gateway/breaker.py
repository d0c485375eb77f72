"""A circuit breaker per upstream: stop calling a service that keeps failing, and probe before trusting
it again.

closed     calls go through; `failure_threshold` failed calls in a row open the circuit
open       calls are refused at once with 503 and `Retry-After` (no socket, no timeout to wait out)
half_open  after `reset_after_s`, one probe call goes through; success closes, failure reopens

A failure is what says the upstream is unwell: a transport error, a timeout or a 5xx answer. A 4xx is
the caller's input, and a 429 is a healthy service that is busy: both count as success.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from enum import StrEnum

from services.common.errors import BreakerOpenError

log = logging.getLogger(__name__)


class BreakerState(StrEnum):
    CLOSED = "closed"
    HALF_OPEN = "half_open"
    OPEN = "open"


# The value of the `batik_breaker_state` gauge.
STATE_VALUE = {BreakerState.CLOSED: 0, BreakerState.HALF_OPEN: 1, BreakerState.OPEN: 2}


class CircuitBreaker:
    def __init__(
        self,
        name: str,
        *,
        failure_threshold: int = 5,
        reset_after_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.failure_threshold = failure_threshold
        self.reset_after_s = reset_after_s
        self.clock = clock
        self.failures = 0  # in a row
        self.opened = 0  # times the circuit opened, for metrics
        self._opened_at: float | None = None
        self._probing = False

    @property
    def state(self) -> BreakerState:
        if self._opened_at is None:
            return BreakerState.CLOSED
        if self.clock() - self._opened_at < self.reset_after_s:
            return BreakerState.OPEN
        return BreakerState.HALF_OPEN

    def before_call(self) -> None:
        """Let the call through, or raise `BreakerOpenError` (503 `breaker_open`) while the circuit is open."""
        state = self.state
        if state is BreakerState.CLOSED:
            return
        if state is BreakerState.HALF_OPEN and not self._probing:
            self._probing = True  # this call is the probe; the others wait for its outcome
            log.info("%s breaker half-open: probing", self.name)
            return
        assert self._opened_at is not None
        remaining = self._opened_at + self.reset_after_s - self.clock()
        retry_after = max(1, math.ceil(remaining))
        raise BreakerOpenError(
            f"{self.name} is failing; its circuit breaker is open (retry in {retry_after} s)",
            retry_after_s=retry_after,
        )

    def record_success(self) -> None:
        if self._opened_at is not None:
            log.info("%s breaker closed: the probe succeeded", self.name)
        self.failures, self._opened_at, self._probing = 0, None, False

    def record_failure(self) -> None:
        self.failures += 1
        if self._probing or self.failures >= self.failure_threshold:
            if self._opened_at is None or self._probing:
                self.opened += 1
                log.warning("%s breaker open after %d failures", self.name, self.failures)
            self._opened_at, self._probing = self.clock(), False

    def release(self) -> None:
        """The call ended without a verdict (cancelled): let another call probe."""
        self._probing = False
