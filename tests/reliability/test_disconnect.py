"""A client that hangs up stops its generation (issue 16, finding 8).

Two abandoned `steps: 150` requests once held generation's whole in-flight bound until they ran to
completion, refusing everyone else. Here a long run is started over a raw socket, the socket is
closed once the run holds its slot, and generation's in-flight gauge must come back to 0 after a
few steps, not after the 150: the bound is the time of a few steps measured in this same run.
"""

from __future__ import annotations

import json
import socket
import time
from urllib.parse import urlsplit

import httpx
import pytest

from tests.reliability.conftest import wait_until

pytestmark = pytest.mark.e2e

LONG_STEPS = 150
SIDE = 256
INFLIGHT = "batik_inflight_requests"


def _generate_body(steps: int, side: int = SIDE) -> dict:
    return {"prompt": "batik nitik", "steps": steps, "width": side, "height": side, "seed": 1}


def _seconds_per_step(url: str, side: int) -> float:
    """The marginal cost of a step here and now: two short runs, their difference per step."""
    times = {}
    for steps in (2, 8):
        started = time.perf_counter()
        response = httpx.post(f"{url}/v1/generate", json=_generate_body(steps, side), timeout=300)
        assert response.status_code == 200, response.text
        times[steps] = time.perf_counter() - started
    return max(times[8] - times[2], 1e-3) / 6


def _post_and_hang_up(url: str, path: str, body: dict, until) -> tuple[float, float]:
    """POST `body` over a raw socket, close it once `until()` holds; when it was sent and closed."""
    parts = urlsplit(url)
    payload = json.dumps(body).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\n\r\n"
    ).encode()
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sent = time.perf_counter()
        sock.sendall(head + payload)
        wait_until(until, 60, "the long run to take its slot")
        time.sleep(0.2)  # a few steps in: the run is under way, not just queued
    return sent, time.perf_counter()


def _stopped_within_steps(stack, url: str, path: str, body: dict, side: int) -> float:
    """Steps' worth of time generation's slot stayed held after the client hung up."""
    per_step = _seconds_per_step(stack.url("generation"), side)
    sent, closed = _post_and_hang_up(
        url, path, body, lambda: stack.metric("generation", INFLIGHT) == 1
    )
    # Conclusive only if the run was still far from done when the client hung up.
    assert (closed - sent) / per_step < LONG_STEPS / 2, "the long run was too short to tell"
    wait_until(
        lambda: stack.metric("generation", INFLIGHT) == 0,
        LONG_STEPS * per_step * 10 + 60,
        "generation's slot to free",
    )
    held = time.perf_counter() - closed
    print(
        f"slot held {held / per_step:.1f} steps after the hang-up ({per_step * 1000:.1f} ms a step)"
    )
    return held / per_step


def _next_request_is_served(stack) -> None:
    response = httpx.post(
        f"{stack.url('generation')}/v1/generate", json=_generate_body(2), timeout=300
    )
    assert response.status_code == 200, response.text


def test_hanging_up_on_generate_stops_the_run(reliability_stack):
    steps_held = _stopped_within_steps(
        reliability_stack,
        reliability_stack.url("generation"),
        "/v1/generate",
        _generate_body(LONG_STEPS),
        SIDE,
    )
    # Polling the gauge and the hop between threads cost a few steps; running on costs ~150.
    assert steps_held < LONG_STEPS / 3
    _next_request_is_served(reliability_stack)
    assert "499" in reliability_stack.log("generation")  # the hang-up is in its log


@pytest.fixture
def gateway_at_full_size(reliability_stack):
    """The gateway generating at SIDE (the stack's 64 px run 150 steps in well under a second, too
    short to hang up in the middle); put back as it was afterwards."""
    with reliability_stack.reconfigured("gateway", {"GATEWAY_GENERATION_SIZE": str(SIDE)}) as stack:
        yield stack


def test_hanging_up_on_the_gateway_stops_its_generation(gateway_at_full_size):
    stack = gateway_at_full_size
    body = {"text": "batik nitik", "generate": True, "steps": LONG_STEPS, "seed": 7}
    steps_held = _stopped_within_steps(stack, stack.url("gateway"), "/v1/rag", body, SIDE)
    assert steps_held < LONG_STEPS / 3
    _next_request_is_served(stack)
