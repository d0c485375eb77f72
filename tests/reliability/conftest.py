"""One real stack for the whole reliability package: four uvicorn processes on tiny models and a
private Redis, started once (each cold start costs ~10 s on these cores).

Fault tests break parts of it (stop captioning, Redis, generation) and must put them back before they
end, on the same ports, so later tests see a whole stack again.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from services.launcher import TINY_STACK_ENV, ServiceProcess, running, wait_ready
from tests.helpers import RedisServer, free_port, tiny_stack_services

ADMIN_TOKEN = "reliability-admin-token"
# Small caps keep the over-the-cap cases cheap to send.
MAX_UPLOAD_BYTES = 512 * 1024
SERVICES = ("retrieval", "captioning", "generation", "gateway")

STACK_ENV = {
    **TINY_STACK_ENV,
    # Limited but never reached: the limiter still talks to Redis, so Redis faults reach it too.
    "GATEWAY_RATE_LIMIT_PER_WINDOW": "1000000",
    # An upstream that comes back is probed again after 1 s, not the default 30.
    "GATEWAY_BREAKER_RESET_S": "1",
    "RETRIEVAL_ADMIN_TOKEN": ADMIN_TOKEN,
    **{f"{s.upper()}_MAX_UPLOAD_BYTES": str(MAX_UPLOAD_BYTES) for s in SERVICES},
}


class Stack:
    """The running services by name, their Redis, and what tests need to break and mend them."""

    def __init__(self, services: dict[str, ServiceProcess], redis: RedisServer, logs: Path):
        self.services = services
        self.redis = redis
        self.logs = logs

    def url(self, name: str) -> str:
        return self.services[name].url

    def stop(self, name: str, *, kill: bool = False) -> None:
        process = self.services[name].process
        assert process is not None
        process.kill() if kill else process.terminate()
        process.wait(timeout=30)

    def restart(self, name: str, deadline_s: float = 120) -> None:
        service = self.services[name]
        if service.process is not None and service.process.poll() is None:
            self.stop(name)
        service.start(dict(os.environ), self.logs)
        wait_ready([service], deadline_s=deadline_s)

    @contextlib.contextmanager
    def reconfigured(self, name: str, env: dict[str, str]) -> Iterator[Stack]:
        """`name` restarted with `env` added to its settings, then restarted as it was."""
        service = self.services[name]
        before = dict(service.env)
        service.env.update(env)
        self.restart(name)
        try:
            yield self
        finally:
            service.env.clear()
            service.env.update(before)
            self.restart(name)

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")

    def metric(self, name: str, series: str) -> float:
        """One Prometheus sample, e.g. `process_resident_memory_bytes`."""
        text = httpx.get(f"{self.url(name)}/metrics", timeout=10).text
        match = re.search(rf"^{re.escape(series)}(?:{{[^}}]*}})? ([0-9.e+-]+)$", text, re.M)
        assert match, f"{series} not in {name}'s /metrics"
        return float(match.group(1))


@pytest.fixture(scope="package")
def reliability_stack(tiny_models, synthetic_index, tmp_path_factory) -> Iterator[Stack]:
    redis = RedisServer().start()
    services = tiny_stack_services(
        tiny_models,
        synthetic_index,
        redis.url,
        {
            **STACK_ENV,
            "GENERATION_CONTROLNET": str(tiny_models["controlnet"]),
            # The indexes the reload tests swap between lie under pytest's base temporary directory.
            "RETRIEVAL_INDEX_ROOT": str(tmp_path_factory.getbasetemp()),
        },
        library_dir=tmp_path_factory.mktemp("reliability-library"),
    )
    logs = tmp_path_factory.mktemp("reliability-logs")
    try:
        with running(services, logs):
            yield Stack({s.name: s for s in services}, redis, logs)
    finally:
        redis.stop()


@contextmanager
def side_gateway(
    stack: Stack, tiny_models, name: str, env: dict[str, str]
) -> Iterator[ServiceProcess]:
    """A second gateway process on the stack's upstreams, with `env` on top of the stack's settings."""
    service = ServiceProcess(
        name,
        "gateway.app:app",
        free_port(),
        {
            **STACK_ENV,
            "GATEWAY_RETRIEVAL_URL": stack.url("retrieval"),
            "GATEWAY_CAPTIONING_URL": stack.url("captioning"),
            "GATEWAY_GENERATION_URL": stack.url("generation"),
            "GATEWAY_TOKENIZER": str(tiny_models["sd"]),
            **env,
        },
    )
    service.start(dict(os.environ), stack.logs)
    try:
        wait_ready([service], deadline_s=120)
        yield service
    finally:
        service.stop()


def wait_until(predicate, deadline_s: float, what: str, every_s: float = 0.05):
    """Poll `predicate` until it returns something truthy; fail with `what` at the deadline."""
    deadline = time.monotonic() + deadline_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {deadline_s} s waiting for {what}")
        time.sleep(every_s)
