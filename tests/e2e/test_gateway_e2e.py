"""The gateway's operator-facing promises over real HTTP, on the four-process stack: one request id in
all four logs, /metrics on every service counting that request, Server-Timing, multipart uploads."""

from __future__ import annotations

import time

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.conftest import url_of

pytestmark = pytest.mark.e2e
QUICK = {"steps": "10", "strength": "0.5"}
ROUTES = {
    "gateway": "/v1/rag/upload",
    "retrieval": "/v1/search",
    "captioning": "/v1/caption",
    "generation": "/v1/generate",
}


def requests_counted(url: str, route: str) -> float:
    text = httpx.get(f"{url}/metrics", timeout=10).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "batik_http_requests_total"
        and sample.labels["route"] == route
        and sample.labels["status"] == "200"
    )


def test_one_upload_is_traced_and_counted_by_all_four_services(running_stack, synthetic_dataset):
    images, _ = synthetic_dataset
    urls = {name: url_of(running_stack, name) for name in ROUTES}
    before = {name: requests_counted(urls[name], route) for name, route in ROUTES.items()}
    answer = httpx.post(
        f"{urls['gateway']}/v1/rag/upload",
        files={
            "image": ("query.jpg", (images / "3 Kawung Nitik 1.jpg").read_bytes(), "image/jpeg")
        },
        data={"text": "kawung circles", "seed": "13", **QUICK},
        headers={"X-Request-ID": "e2e-upload-trace-42"},
        timeout=120,
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["x-request-id"] == "e2e-upload-trace-42"
    stages = [part.split(";")[0].strip() for part in answer.headers["server-timing"].split(",")]
    assert stages[0] == "cache" and stages[-1] == "total" and "generation" in stages
    body = answer.json()
    assert len(body["images"]) == 1 and body["seed"] == 13
    for name in ROUTES:
        log_file = running_stack["logs"] / f"{name}.log"

        def logged_and_counted(name=name, log_file=log_file) -> bool:
            return (
                "e2e-upload-trace-42" in log_file.read_text()
                and requests_counted(urls[name], ROUTES[name]) == before[name] + 1
            )

        # The access line and the request count are written once the response has been sent,
        # so they may trail the answer by a moment.
        deadline = time.monotonic() + 10
        while not logged_and_counted() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "e2e-upload-trace-42" in log_file.read_text(), f"{name} did not log the request id"
        counted = requests_counted(urls[name], ROUTES[name])
        assert counted == before[name] + 1, f"{name} counted {counted - before[name]} requests"


def test_every_service_serves_prometheus_metrics(running_stack):
    for name in ROUTES:
        answer = httpx.get(f"{url_of(running_stack, name)}/metrics", timeout=10)
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/plain; version=")
        families = {f.name for f in text_string_to_metric_families(answer.text)}
        assert {"batik_http_requests", "batik_inflight_requests", "batik_max_inflight"} <= families
    gateway_families = {
        f.name
        for f in text_string_to_metric_families(
            httpx.get(f"{url_of(running_stack, 'gateway')}/metrics", timeout=10).text
        )
    }
    assert {"batik_breaker_state", "batik_cache_requests", "batik_stage_duration_seconds"} <= (
        gateway_families
    )
