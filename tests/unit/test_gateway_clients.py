"""Upstream clients over real HTTP: retries, timeouts, error mapping and the circuit breaker.

The upstream is a real uvicorn server on a loopback port, in a thread of this process, that answers
from a script the test writes (a status with an envelope, or a delay longer than the client waits).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time

import pytest
import uvicorn

from gateway.breaker import BreakerState, CircuitBreaker
from gateway.clients import UpstreamClient
from gateway.deadline import within
from services.common.errors import BreakerOpenError, ErrorType, ServiceError, to_service_error
from tests.helpers import free_port


class ScriptedUpstream:
    """Each request takes the next step of `script`: ("status", code[, headers]) or ("hang", s);
    with the script empty it answers 200. `calls` lists the paths requested."""

    def __init__(self) -> None:
        self.script: list[tuple] = []
        self.calls: list[str] = []
        self.port = free_port()
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self.port,
            lifespan="off",
            log_level="warning",
            interface="asgi3",
        )
        config.timeout_graceful_shutdown = 0.5
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def app(self, scope, receive, send) -> None:
        self.calls.append(scope["path"])
        step = self.script.pop(0) if self.script else ("status", 200)
        if step[0] == "hang":
            await asyncio.sleep(step[1])
            step = ("status", 200)
        status, headers = step[1], (step[2] if len(step) > 2 else {})
        body = (
            {"ok": True}
            if status < 400
            else {"error": {"type": _type_of(status), "message": f"scripted {status}"}}
        )
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json")]
                + [(k.lower().encode(), v.encode()) for k, v in headers.items()],
            }
        )
        await send({"type": "http.response.body", "body": json.dumps(body).encode()})

    def start(self) -> ScriptedUpstream:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "scripted upstream did not start"
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def _type_of(status: int) -> str:
    return {422: "validation", 429: "overloaded", 503: "not_ready"}.get(status, "internal")


@pytest.fixture(scope="module")
def scripted():
    server = ScriptedUpstream().start()
    yield server
    server.stop()


@pytest.fixture
def upstream(scripted):
    scripted.script.clear()
    scripted.calls.clear()
    return scripted


def call(
    url: str,
    *,
    path: str = "/v1/thing",
    idempotent: bool = True,
    deadline_s: float | None = None,
    **client_args,
):
    """One request through a fresh UpstreamClient (within a request deadline of `deadline_s`, if
    any): the response status or the ServiceError."""
    options = {"read_timeout_s": 5.0, "connect_timeout_s": 1.0, "retries": 2, "backoff_s": 0.01}

    async def main():
        client = UpstreamClient("retrieval", url, **{**options, **client_args})
        try:
            with within(deadline_s):
                return (await client.request("GET", path, idempotent=idempotent)).status_code
        except ServiceError as exc:
            return exc
        finally:
            await client.aclose()

    return asyncio.run(main())


def test_an_idempotent_call_that_failed_once_is_retried(upstream):
    upstream.script = [("status", 503)]
    assert call(upstream.url) == 200
    assert upstream.calls == ["/v1/thing", "/v1/thing"]


def test_retries_stop_at_the_configured_count(upstream):
    upstream.script = [("status", 502)] * 5
    error = call(upstream.url, retries=2)
    assert error.type is ErrorType.UPSTREAM and error.status == 502
    assert "retrieval answered 502" in error.message
    assert len(upstream.calls) == 3


def test_a_non_idempotent_call_is_never_retried(upstream):
    upstream.script = [("status", 503)]
    error = call(upstream.url, idempotent=False)
    assert error.type is ErrorType.UPSTREAM
    assert len(upstream.calls) == 1


def test_a_client_error_keeps_its_type_and_retry_after_and_is_not_retried(upstream):
    upstream.script = [("status", 429, {"Retry-After": "7"})]
    error = call(upstream.url)
    assert error.type is ErrorType.OVERLOADED
    assert {k.lower(): v for k, v in error.headers.items()} == {"retry-after": "7"}
    assert len(upstream.calls) == 1


def test_a_slow_upstream_is_a_timeout_504(upstream):
    upstream.script = [("hang", 3.0)]
    error = call(upstream.url, read_timeout_s=0.2, retries=0)
    assert error.type is ErrorType.UPSTREAM_TIMEOUT and error.status == 504
    assert error.message == "retrieval did not answer within 0.2 s"


def test_a_timed_out_call_is_not_retried(upstream):
    # Retrying a hung upstream multiplies the wait by the attempts (issue 16, finding 5).
    upstream.script = [("hang", 3.0)] * 3
    error = call(upstream.url, read_timeout_s=0.2, retries=2)
    assert error.type is ErrorType.UPSTREAM_TIMEOUT
    assert upstream.calls == ["/v1/thing"]


def test_the_request_deadline_shortens_the_timeout(upstream):
    upstream.script = [("hang", 3.0)]
    error = call(upstream.url, read_timeout_s=5.0, deadline_s=0.3)
    assert error.type is ErrorType.UPSTREAM_TIMEOUT
    assert error.message.startswith("retrieval did not answer within 0.")
    assert len(upstream.calls) == 1


def test_past_the_deadline_the_upstream_is_not_called(upstream):
    error = call(upstream.url, deadline_s=0.0)
    assert error.type is ErrorType.UPSTREAM_TIMEOUT
    assert "deadline passed" in error.message
    assert upstream.calls == []


def test_a_closed_port_is_unreachable_502():
    error = call(f"http://127.0.0.1:{free_port()}", retries=1)
    assert error.type is ErrorType.UPSTREAM
    assert "retrieval is unreachable" in error.message


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_breaker_opens_answers_without_calling_then_probes_and_closes(upstream):
    clock = Clock()
    breaker = CircuitBreaker("retrieval", failure_threshold=2, reset_after_s=30, clock=clock)

    async def main():
        client = UpstreamClient(
            "retrieval",
            upstream.url,
            read_timeout_s=5,
            connect_timeout_s=1,
            retries=0,
            breaker=breaker,
        )
        outcomes = []

        async def one():
            try:
                outcomes.append((await client.request("GET", "/v1/thing")).status_code)
            except (ServiceError, BreakerOpenError) as exc:
                refusal = to_service_error(exc)
                outcomes.append((refusal.status, refusal.headers.get("Retry-After")))

        upstream.script = [("status", 500), ("status", 500)]
        await one()
        await one()
        assert breaker.state is BreakerState.OPEN
        await one()  # refused at once: the upstream sees nothing
        calls_while_open = len(upstream.calls)
        clock.now += 30
        await one()  # the probe reaches the upstream, which answers 200 again
        await one()
        await client.aclose()
        return outcomes, calls_while_open

    outcomes, calls_while_open = asyncio.run(main())
    assert outcomes == [(502, None), (502, None), (503, "30"), 200, 200]
    assert calls_while_open == 2
    assert len(upstream.calls) == 4
    assert breaker.state is BreakerState.CLOSED


def test_client_errors_do_not_open_the_breaker(upstream):
    breaker = CircuitBreaker("retrieval", failure_threshold=1)
    upstream.script = [("status", 422)] * 3
    for _ in range(3):
        assert call(upstream.url, breaker=breaker).type is ErrorType.VALIDATION
    assert breaker.state is BreakerState.CLOSED
