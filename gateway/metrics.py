"""The gateway's own Prometheus series, on the registry every service has (services/common/metrics.py).

Per-stage time and cache hits come from each answer; breaker states, single-flight joins and rate-limit
refusals are read from the running `Gateway` at scrape time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from gateway.breaker import STATE_VALUE
from services.common.contracts.gateway import RagResponse
from services.common.metrics import LATENCY_BUCKETS_S


class GatewayMetrics:
    def __init__(self, registry: CollectorRegistry, engine: Callable[[], Any]) -> None:
        self.cache = Counter(
            "batik_cache_requests",
            "RAG answers by cache outcome: hit, miss, or shared (joined an identical flight)",
            ["result"],
            registry=registry,
        )
        self.stages = Histogram(
            "batik_stage_duration_seconds",
            "Time spent in each RAG stage (cache, retrieval, reference, captioning, fusion, "
            "generation)",
            ["stage"],
            buckets=LATENCY_BUCKETS_S,
            registry=registry,
        )
        self.degraded = Counter(
            "batik_degraded_answers",
            "Answers served without a stage that failed",
            ["stage"],
            registry=registry,
        )
        registry.register(_GatewayStateCollector(engine))

    def observe(self, answer: RagResponse) -> None:
        result = "hit" if answer.cache.hit else "shared" if answer.cache.shared else "miss"
        self.cache.labels(result).inc()
        if result == "miss":  # a hit or a shared answer ran no stage of its own
            for stage, ms in answer.timings_ms.items():
                if stage != "total":
                    self.stages.labels(stage).observe(ms / 1000)
        for stage in answer.degraded:
            self.degraded.labels(stage).inc()


class _GatewayStateCollector:
    def __init__(self, engine: Callable[[], Any]) -> None:
        self.engine = engine

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        gateway = self.engine()
        if gateway is None:  # still loading
            return
        state = GaugeMetricFamily(
            "batik_breaker_state",
            "Circuit breaker per upstream: 0 closed, 1 half-open, 2 open",
            labels=["upstream"],
        )
        opened = CounterMetricFamily(
            "batik_breaker_opened", "Times each upstream's breaker opened", labels=["upstream"]
        )
        for client in gateway.upstreams:
            state.add_metric([client.name], STATE_VALUE[client.breaker.state])
            opened.add_metric([client.name], client.breaker.opened)
        yield state
        yield opened
        yield CounterMetricFamily(
            "batik_rate_limited",
            "Requests refused by the per-client rate limit",
            value=gateway.rate_limiter.limited,
        )
        if gateway.saver is not None and gateway.saver.outbox is not None:
            outbox = CounterMetricFamily(
                "batik_design_saves",
                "Designs through the outbox by this process: queued (named in an answer), saved, "
                "retried (a delivery failed, due again), refused (by the library, for good)",
                labels=["outcome"],
            )
            for outcome, count in gateway.saver.outcomes.items():
                outbox.add_metric([outcome], count)
            yield outbox
        if gateway.webhooks.enabled:
            webhooks = CounterMetricFamily(
                "batik_webhook_deliveries",
                "Webhook events by this process: queued (promised), delivered (2xx), retried (a "
                "try failed, due again), refused (by the receiver or the target guard) and given_up "
                "(every try failed)",
                labels=["outcome"],
            )
            for outcome, count in gateway.webhooks.outcomes.items():
                webhooks.add_metric([outcome], count)
            yield webhooks
        yield GaugeMetricFamily(
            "batik_singleflight_flights",
            "Distinct RAG flows running now (identical requests share one)",
            value=len(gateway.orchestrator.flights),
        )
