"""The whole system as a user runs it: five uvicorn processes on loopback ports (the library on SQLite
in a temporary directory) and a real Redis."""

from __future__ import annotations

import pytest

from services.launcher import TINY_STACK_ENV, ServiceProcess, running
from tests.helpers import RedisServer, tiny_stack_services

UPSTREAMS = ("retrieval", "captioning", "generation")
WEBHOOK_SECRET = "e2e-webhook-secret"
E2E_ENV = {
    **TINY_STACK_ENV,
    # Webhooks signed with a known key, allowed to reach a receiver on loopback over http.
    "GATEWAY_WEBHOOK_SECRET": WEBHOOK_SECRET,
    "GATEWAY_WEBHOOK_ALLOW": "127.0.0.1",
    "GATEWAY_URL_SECRET": "e2e-url-secret",
}


@pytest.fixture(scope="module")
def stack_redis():
    server = RedisServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def running_stack(tiny_models, synthetic_index, stack_redis, tmp_path_factory):
    services = tiny_stack_services(
        tiny_models,
        synthetic_index,
        stack_redis.url,
        E2E_ENV,
        library_dir=tmp_path_factory.mktemp("library"),
    )
    log_dir = tmp_path_factory.mktemp("service-logs")
    with running(services, log_dir):
        yield {s.name: s for s in services} | {"logs": log_dir}


def url_of(running_stack, name: str) -> str:
    service: ServiceProcess = running_stack[name]
    return service.url
