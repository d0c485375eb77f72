"""The circuit breaker's state machine, on a clock the test moves."""

from __future__ import annotations

import pytest

from gateway.breaker import BreakerState, CircuitBreaker
from services.common.errors import BreakerOpenError, ErrorType, to_service_error


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def breaker(clock) -> CircuitBreaker:
    return CircuitBreaker("captioning", failure_threshold=3, reset_after_s=10, clock=clock)


def fail(breaker: CircuitBreaker, times: int) -> None:
    for _ in range(times):
        breaker.before_call()
        breaker.record_failure()


def test_opens_after_the_threshold_of_failures_in_a_row(breaker):
    fail(breaker, 2)
    assert breaker.state is BreakerState.CLOSED
    fail(breaker, 1)
    assert breaker.state is BreakerState.OPEN
    assert breaker.opened == 1


def test_a_success_resets_the_count(breaker):
    fail(breaker, 2)
    breaker.before_call()
    breaker.record_success()
    fail(breaker, 2)
    assert breaker.state is BreakerState.CLOSED


def test_open_refuses_at_once_with_503_and_the_seconds_left(breaker, clock):
    fail(breaker, 3)
    clock.now += 2.5
    with pytest.raises(BreakerOpenError) as refused:
        breaker.before_call()
    answer = to_service_error(refused.value)
    assert answer.type is ErrorType.BREAKER_OPEN and answer.status == 503
    assert answer.headers == {"Retry-After": "8"}
    assert "captioning" in answer.message and "open" in answer.message


def test_half_open_lets_exactly_one_probe_through(breaker, clock):
    fail(breaker, 3)
    clock.now += 10
    assert breaker.state is BreakerState.HALF_OPEN
    breaker.before_call()  # the probe
    with pytest.raises(BreakerOpenError) as second:
        breaker.before_call()
    assert to_service_error(second.value).headers == {"Retry-After": "1"}


def test_a_successful_probe_closes(breaker, clock):
    fail(breaker, 3)
    clock.now += 10
    breaker.before_call()
    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED
    breaker.before_call()  # calls flow again
    assert breaker.failures == 0


def test_a_failed_probe_reopens_for_a_full_period(breaker, clock):
    fail(breaker, 3)
    clock.now += 10
    breaker.before_call()
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN and breaker.opened == 2
    clock.now += 9.5
    assert breaker.state is BreakerState.OPEN
    clock.now += 0.5
    assert breaker.state is BreakerState.HALF_OPEN


def test_a_probe_without_verdict_frees_the_slot(breaker, clock):
    fail(breaker, 3)
    clock.now += 10
    breaker.before_call()
    breaker.release()  # e.g. the caller was cancelled
    breaker.before_call()  # another call may probe
    assert breaker.state is BreakerState.HALF_OPEN
