"""Prometheus metrics every service exposes at `GET /metrics`.

Each app gets its own `CollectorRegistry` (several apps can live in one process: tests, benchmarks),
an ASGI middleware that counts requests by route template and status and times them, and scrape-time
gauges for the work in flight (the queue depth the HPA scales on) and, on CUDA, GPU memory. The
gateway adds its own series (cache, stages, breakers) to the same registry.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

from fastapi import APIRouter, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric

# From a cached retrieval (milliseconds) to a CPU generation (minutes).
LATENCY_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)
UNMATCHED_ROUTE = "unmatched"  # one label for every unknown path: no cardinality from scanners


class GpuMemoryCollector:
    """GPU memory per device, read at scrape time; nothing when torch is not loaded or has no CUDA."""

    def __init__(self, service: str) -> None:
        self.service = service

    def describe(self) -> list[Metric]:
        return []  # no probing of CUDA at registration time

    def collect(self) -> Iterator[Metric]:
        torch = sys.modules.get("torch")  # never import torch just to report on it
        if torch is None or not torch.cuda.is_available():
            return
        families = {
            "allocated": GaugeMetricFamily(
                "batik_gpu_memory_allocated_bytes",
                "GPU memory held by tensors",
                labels=["service", "device"],
            ),
            "reserved": GaugeMetricFamily(
                "batik_gpu_memory_reserved_bytes",
                "GPU memory reserved by torch's caching allocator",
                labels=["service", "device"],
            ),
            "total": GaugeMetricFamily(
                "batik_gpu_memory_total_bytes",
                "GPU memory of the card",
                labels=["service", "device"],
            ),
        }
        for index in range(torch.cuda.device_count()):
            labels = [self.service, str(index)]
            families["allocated"].add_metric(labels, torch.cuda.memory_allocated(index))
            families["reserved"].add_metric(labels, torch.cuda.memory_reserved(index))
            families["total"].add_metric(
                labels, torch.cuda.get_device_properties(index).total_memory
            )
        yield from families.values()


class ServiceMetrics:
    """The registry of one app and the series every service shares."""

    def __init__(self, service: str) -> None:
        self.service = service
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "batik_http_requests",
            "HTTP requests answered, by route template and status",
            ["service", "method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "batik_http_request_duration_seconds",
            "Time from request to the end of the response body",
            ["service", "method", "route"],
            buckets=LATENCY_BUCKETS_S,
            registry=self.registry,
        )
        self.http_inflight = Gauge(
            "batik_http_requests_in_flight",
            "HTTP requests being served now",
            ["service"],
            registry=self.registry,
        ).labels(service)
        self._inflight: Callable[[], float] = lambda: 0
        # The queue depth: model calls (RAG flows on the gateway) running or waiting for the engine.
        Gauge(
            "batik_inflight_requests",
            "Model work running or waiting (RAG flows on the gateway); past *_MAX_INFLIGHT: 429",
            ["service"],
            registry=self.registry,
        ).labels(service).set_function(lambda: self._inflight())
        self.max_inflight = Gauge(
            "batik_max_inflight",
            "The in-flight bound (*_MAX_INFLIGHT)",
            ["service"],
            registry=self.registry,
        ).labels(service)
        self.registry.register(GpuMemoryCollector(service))
        ProcessCollector(registry=self.registry)

    def track_inflight(self, source: Callable[[], float], bound: int) -> None:
        self._inflight = source
        self.max_inflight.set(bound)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Pure ASGI: counts and times every HTTP request under its route template (`/v1/images/{id}`)."""

    def __init__(self, app: Any, metrics: ServiceMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        started = time.perf_counter()

        async def send_tracking_status(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        self.metrics.http_inflight.inc()
        try:
            await self.app(scope, receive, send_tracking_status)
        finally:
            self.metrics.http_inflight.dec()
            # The router writes the matched route into the scope it was given (this same dict).
            route = getattr(scope.get("route"), "path", None) or UNMATCHED_ROUTE
            method, service = scope["method"], self.metrics.service
            self.metrics.requests.labels(service, method, route, str(status)).inc()
            self.metrics.latency.labels(service, method, route).observe(
                time.perf_counter() - started
            )


router = APIRouter(tags=["health"])


@router.get(
    "/metrics",
    operation_id="metrics",
    summary="Prometheus metrics: requests, latency, in-flight work, GPU memory (and gateway stages)",
    description="The Prometheus text format: request counts and latency per route and status, "
    "in-flight work against its bound, GPU memory, and on the gateway the RAG stages, cache and "
    "rate limiting. Open, for the scraper.",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}},
)
def metrics(request: Request) -> Response:
    return Response(request.app.state.metrics.render(), media_type=CONTENT_TYPE_LATEST)
