"""Metrics and logs every service shares (services/common/metrics.py, logging.py)."""

from __future__ import annotations

import json
import logging
import sys
import types

from fastapi import APIRouter
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from services.common.app import create_service_app
from services.common.logging import JsonLineFormatter, _request_id
from services.common.metrics import GpuMemoryCollector
from services.common.settings import BaseServiceSettings
from tests.conftest import wait_ready

items = APIRouter()


@items.get("/v1/items/{item_id}")
def get_item(item_id: int) -> dict[str, int]:
    return {"id": item_id}


def samples(client) -> list:
    text = client.get("/metrics").text
    return [s for family in text_string_to_metric_families(text) for s in family.samples]


def value(all_samples, name: str, **labels) -> float | None:
    for sample in all_samples:
        if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
            return sample.value
    return None


def make_client(**settings) -> TestClient:
    app = create_service_app(
        name="demo",
        title="demo",
        description="demo",
        settings=BaseServiceSettings(**settings),
        load=lambda: object(),
        describe=lambda _engine: {},
        routers=[items],
    )
    return TestClient(app, raise_server_exceptions=False)


def test_requests_are_counted_by_route_template_and_status():
    with make_client(max_upload_bytes=1024) as client:
        wait_ready(client)
        for item in (1, 2, 3):
            assert client.get(f"/v1/items/{item}").status_code == 200
        assert client.get("/v1/items/not-a-number").status_code == 422
        assert client.get("/wp-admin/setup.php").status_code == 404
        too_big = client.post("/v1/items/1", content=b"x" * 200_000)
        assert too_big.status_code == 413
        got = samples(client)
    ok = dict(service="demo", method="GET", route="/v1/items/{item_id}")
    assert value(got, "batik_http_requests_total", **ok, status="200") == 3
    assert value(got, "batik_http_requests_total", **ok, status="422") == 1
    assert value(got, "batik_http_requests_total", route="unmatched", status="404") == 1
    assert value(got, "batik_http_requests_total", method="POST", status="413") == 1
    assert value(got, "batik_http_request_duration_seconds_count", **ok) == 4
    assert value(got, "batik_max_inflight", service="demo") == 4
    assert value(got, "batik_inflight_requests", service="demo") == 0
    # Scraping while serving the scrape: exactly one request in flight.
    assert value(got, "batik_http_requests_in_flight", service="demo") == 1
    assert value(got, "process_resident_memory_bytes") > 0


def test_no_gpu_series_without_cuda():
    with make_client() as client:
        got = samples(client)
    assert not [s for s in got if s.name.startswith("batik_gpu_")]


def test_gpu_memory_is_read_per_device_when_cuda_is_loaded(monkeypatch):
    cuda = types.SimpleNamespace(
        is_available=lambda: True,
        device_count=lambda: 2,
        memory_allocated=lambda i: 1000 * (i + 1),
        memory_reserved=lambda i: 2000 * (i + 1),
        get_device_properties=lambda i: types.SimpleNamespace(total_memory=80 * 2**30),
    )
    monkeypatch.setitem(sys.modules, "torch", types.SimpleNamespace(cuda=cuda))
    families = {f.name: f for f in GpuMemoryCollector("generation").collect()}
    allocated = families["batik_gpu_memory_allocated_bytes"].samples
    assert [(s.labels["device"], s.value) for s in allocated] == [("0", 1000), ("1", 2000)]
    assert families["batik_gpu_memory_total_bytes"].samples[0].value == 80 * 2**30
    assert allocated[0].labels["service"] == "generation"


def test_json_log_lines_carry_the_request_id():
    formatter = JsonLineFormatter("gateway")
    token = _request_id.set("req-42")
    try:
        record = logging.LogRecord(
            "batik.access", logging.INFO, __file__, 1, "GET %s", ("/x",), None
        )
        line = formatter.format(record)
    finally:
        _request_id.reset(token)
    entry = json.loads(line)
    assert entry["request_id"] == "req-42"
    assert entry["service"] == "gateway" and entry["level"] == "INFO"
    assert entry["message"] == "GET /x" and entry["logger"] == "batik.access"


def test_log_format_json_switches_every_service(capfd):
    with make_client(log_format="json") as client:
        wait_ready(client)
        client.get("/v1/items/7", headers={"X-Request-ID": "trace-json-1"})
    lines = [
        json.loads(line) for line in capfd.readouterr().err.splitlines() if line.startswith("{")
    ]
    access = [e for e in lines if e["request_id"] == "trace-json-1"]
    assert access and access[0]["service"] == "demo"
    assert "GET /v1/items/7 -> 200" in access[0]["message"]
