"""The whole system as a user runs it: five uvicorn processes on loopback ports (the library on SQLite
in a temporary directory) and a real Redis."""

from __future__ import annotations

import os

import pytest

from services.launcher import ServiceProcess, stack, wait_ready
from tests.helpers import RedisServer, free_port

UPSTREAMS = ("retrieval", "captioning", "generation")
E2E_ENV = {
    "OMP_NUM_THREADS": "1",
    "RETRIEVAL_TORCH_THREADS": "1",
    "CAPTIONING_TORCH_THREADS": "1",
    "GENERATION_TORCH_THREADS": "1",
    "GATEWAY_GENERATION_SIZE": "64",
    "HF_HUB_OFFLINE": "1",
}


@pytest.fixture(scope="module")
def stack_redis():
    server = RedisServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def running_stack(tiny_models, synthetic_index, stack_redis, tmp_path_factory):
    names = ("gateway", "retrieval", "captioning", "generation", "library")
    ports = {name: free_port() for name in names}
    services = stack(
        clip=str(tiny_models["clip"]),
        blip2=str(tiny_models["blip2"]),
        sd=str(tiny_models["sd"]),
        index_dir=synthetic_index,
        redis_url=stack_redis.url,
        ports=ports,
        extra_env=E2E_ENV,
        library_dir=tmp_path_factory.mktemp("library"),
    )
    log_dir = tmp_path_factory.mktemp("service-logs")
    for service in services:
        service.start(dict(os.environ), log_dir)
    try:
        wait_ready(services, deadline_s=240)
        yield {s.name: s for s in services} | {"logs": log_dir}
    except Exception:
        for service in services:
            print(f"--- {service.name} log ---")
            print((log_dir / f"{service.name}.log").read_text(errors="replace")[-3000:])
        raise
    finally:
        for service in services:
            service.stop()


def url_of(running_stack, name: str) -> str:
    service: ServiceProcess = running_stack[name]
    return service.url
