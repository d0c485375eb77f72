"""Issue 16, finding 5: a hung upstream (SIGSTOP: its socket accepts, nothing answers) must cost a RAG
request at most one timeout, not one per retry, and never more than the request's own deadline.

Before: with captioning frozen every /v1/rag waited 3 tries x GATEWAY_CAPTIONING_TIMEOUT_S, and so did
the next request, since the breaker counted the call only after its retries. The bounds below are
relative to the configured timeouts (2x one timeout: one wait, no retry), not wall-clock figures.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from tests.reliability.conftest import side_gateway

pytestmark = pytest.mark.e2e

CAPTIONING_TIMEOUT_S = 5.0
RAG_DEADLINE_S = 5.0


@contextmanager
def frozen(stack, name: str) -> Iterator[None]:
    """`name` stopped with SIGSTOP for the block, resumed with SIGCONT whatever happens."""
    pid = stack.services[name].process.pid
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


def timed_rag(gateway_url: str, text: str) -> tuple[httpx.Response, float]:
    """One /v1/rag without generation, and the seconds it took."""
    started = time.monotonic()
    # The client waits long enough for the old behaviour (retries) to be seen as slow, not hung.
    answer = httpx.post(
        f"{gateway_url}/v1/rag", json={"text": text, "generate": False, "top_k": 1}, timeout=120
    )
    return answer, time.monotonic() - started


def assert_degraded(answer: httpx.Response) -> dict:
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["degraded"] == ["captioning"], body["degraded"]
    assert body["captions"] == [] and body["prompt"]["text"]  # metadata facts alone
    return body


@pytest.fixture(scope="module")
def impatient_gateway(reliability_stack, tiny_models):
    """Short captioning timeout, a breaker that opens on the first failure and stays open."""
    env = {
        "GATEWAY_CAPTIONING_TIMEOUT_S": str(CAPTIONING_TIMEOUT_S),
        "GATEWAY_BREAKER_FAILURES": "1",
        "GATEWAY_BREAKER_RESET_S": "60",
    }
    with side_gateway(reliability_stack, tiny_models, "gateway-impatient", env) as service:
        yield service


@pytest.fixture(scope="module")
def deadline_gateway(reliability_stack, tiny_models):
    """A request deadline far shorter than the captioning timeout."""
    env = {"GATEWAY_CAPTIONING_TIMEOUT_S": "60", "GATEWAY_RAG_DEADLINE_S": str(RAG_DEADLINE_S)}
    with side_gateway(reliability_stack, tiny_models, "gateway-deadline", env) as service:
        yield service


def test_a_frozen_captioner_costs_one_timeout_and_then_the_breaker_answers(
    reliability_stack, impatient_gateway
):
    with frozen(reliability_stack, "captioning"):
        first, first_s = timed_rag(impatient_gateway.url, "hung captioner one")
        assert_degraded(first)
        assert first_s < 2 * CAPTIONING_TIMEOUT_S, f"{first_s:.1f} s: the timeout was retried"
        # The timed-out call opened the breaker when it timed out: the next request does not wait.
        second, second_s = timed_rag(impatient_gateway.url, "hung captioner two")
        assert_degraded(second)
        assert second_s < CAPTIONING_TIMEOUT_S, f"{second_s:.1f} s: the open breaker waited"
    print(
        f"\nfrozen captioner, {CAPTIONING_TIMEOUT_S:g} s timeout: {first_s:.2f} s, then {second_s:.2f} s"
    )
    status = httpx.get(f"{impatient_gateway.url}/v1/status", timeout=10).json()
    assert status["breakers"]["captioning"] == "open"


def test_the_request_deadline_degrades_captioning_it_cannot_wait_for(
    reliability_stack, deadline_gateway
):
    with frozen(reliability_stack, "captioning"):
        answer, took_s = timed_rag(deadline_gateway.url, "deadline captioner")
        body = assert_degraded(answer)
        assert took_s < 2 * RAG_DEADLINE_S, f"{took_s:.1f} s: the deadline did not bound captioning"
        print(f"\nfrozen captioner, {RAG_DEADLINE_S:g} s request deadline: {took_s:.2f} s")
        # A degraded answer is not cached: the same request runs the flow again.
        again, _ = timed_rag(deadline_gateway.url, "deadline captioner")
        assert assert_degraded(again)["cache"]["hit"] is False
    assert body["cache"]["hit"] is False
