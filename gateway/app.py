"""The gateway (port 8000): the only public door. Orchestrates retrieval, captioning and
generation, fuses the prompt, and caches answers in Redis; checks API keys, rate-limits per key,
answers CORS from an allow-list, and breaks the circuit to upstreams that keep failing. With Redis it
also runs RAG jobs (gateway/jobs.py): an arq worker inside this process."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, TypeVar

import httpx
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from gateway.api import router
from gateway.breaker import CircuitBreaker
from gateway.cache import ResponseCache, cache_key, make_cache
from gateway.clients import (
    CaptioningClient,
    GenerationClient,
    LibraryClient,
    RetrievalClient,
    UpstreamClient,
)
from gateway.config import GatewaySettings
from gateway.fusion import fuse_prompt
from gateway.jobs import build_worker, job_queue
from gateway.jobs_api import router as jobs_router
from gateway.metrics import GatewayMetrics
from gateway.orchestrator import RagOrchestrator
from gateway.saving import DesignSaver
from gateway.security import API_KEY_HEADER, ApiKeyAuth, RateLimiter
from services.common.app import create_service_app
from services.common.errors import BusyError
from services.common.job_runtime import job_runtime as job_runtime_for
from services.common.logging import REQUEST_ID_HEADER
from services.common.models import resolve_source

T = TypeVar("T")
log = logging.getLogger(__name__)


class UpstreamVersions:
    """Model, adapter and index versions of the upstreams, for cache keys; refreshed every ttl."""

    def __init__(self, clients: dict[str, UpstreamClient], ttl_s: float) -> None:
        self.clients = clients
        self.ttl_s = ttl_s
        self._versions: dict[str, str] = {}
        self._fetched_at = float("-inf")

    async def __call__(self) -> dict[str, str]:
        if time.monotonic() - self._fetched_at < self.ttl_s and self._versions:
            return self._versions
        versions = {}
        for name, client in self.clients.items():
            ready = await client.readiness()
            versions[name] = (
                "|".join(
                    str(ready.get(k)) for k in ("model_version", "index_version") if k in ready
                )
                if ready
                else "unavailable"
            )
        if "unavailable" not in versions.values():
            self._versions, self._fetched_at = versions, time.monotonic()
        return versions


class Gateway:
    """What the gateway holds while it runs: upstream clients, the cache and the orchestrator."""

    def __init__(
        self,
        settings: GatewaySettings,
        count_tokens: Callable[[str], int],
        transports: dict[str, httpx.AsyncBaseTransport] | None = None,
    ) -> None:
        """`transports` (by upstream name) replace the network, e.g. to call apps in process."""
        transports = transports or {}

        def client(cls: type[UpstreamClient], name: str, url: str, read_timeout_s: float):
            breaker = CircuitBreaker(
                name,
                failure_threshold=settings.breaker_failures,
                reset_after_s=settings.breaker_reset_s,
            )
            return cls(
                name,
                url,
                read_timeout_s=read_timeout_s,
                connect_timeout_s=settings.connect_timeout_s,
                retries=settings.retries,
                transport=transports.get(name),
                breaker=breaker,
            )

        self.retrieval = client(
            RetrievalClient, "retrieval", settings.retrieval_url, settings.retrieval_timeout_s
        )
        self.captioning = client(
            CaptioningClient, "captioning", settings.captioning_url, settings.captioning_timeout_s
        )
        self.generation = client(
            GenerationClient, "generation", settings.generation_url, settings.generation_timeout_s
        )
        self.generation.poll_s = settings.job_poll_s
        # The designs' owner; None when GATEWAY_LIBRARY_URL is off (nothing is saved).
        library_url = settings.library_base_url
        self.library: LibraryClient | None = (
            client(LibraryClient, "library", library_url, settings.library_timeout_s)
            if library_url
            else None
        )
        self.upstreams: tuple[UpstreamClient, ...] = (
            self.retrieval,
            self.captioning,
            self.generation,
            *((self.library,) if self.library else ()),
        )
        self.rate_limiter = RateLimiter(
            settings.rate_limit_per_window, settings.rate_limit_window_s, settings.redis_url
        )
        self.cache: ResponseCache = make_cache(
            settings.redis_url, ttl_s=settings.cache_ttl_s, max_entries=settings.cache_max_entries
        )
        self.max_inflight = settings.max_inflight
        self.inflight = 0
        versions = UpstreamVersions(
            {
                "retrieval": self.retrieval,
                "captioning": self.captioning,
                "generation": self.generation,
            },
            settings.version_ttl_s,
        )
        self.orchestrator = RagOrchestrator(
            retrieval=self.retrieval,
            captioning=self.captioning,
            generation=self.generation,
            cache=self.cache,
            fuse=partial(fuse_prompt, count_tokens=count_tokens),
            versions=versions,
            key_of=cache_key,
            generation_size=settings.generation_size,
            caption_prompt=settings.caption_prompt,
            max_facts=settings.max_facts,
            admit=self.limited,
            saver=DesignSaver(
                library=self.library, retrieval=self.retrieval, cache=self.cache, versions=versions
            )
            if self.library
            else None,
        )

    async def limited(self, work: Awaitable[T]) -> T:
        """Bound concurrent RAG flows that reach the upstreams (cache hits are free); past the bound
        answer 429 rather than pile up upstream."""
        if self.inflight >= self.max_inflight:
            close = getattr(work, "close", None)
            if close:
                close()
            raise BusyError(
                f"{self.inflight} RAG requests in flight; retry shortly", retry_after_s=1
            )
        self.inflight += 1
        try:
            return await work
        finally:
            self.inflight -= 1

    def describe(self) -> dict[str, Any]:
        return {
            "upstreams": {c.name: c.base_url for c in self.upstreams},
            "breakers": {c.name: str(c.breaker.state) for c in self.upstreams},
            "cache": self.cache.describe(),
        }

    async def aclose(self) -> None:
        for client in self.upstreams:
            await client.aclose()
        await self.cache.aclose()
        await self.rate_limiter.aclose()


def load_token_counter(settings: GatewaySettings) -> Callable[[str], int]:
    """SD's CLIP tokenizer: fusion measures prompts in the tokens the text encoder will see."""
    from transformers import CLIPTokenizer

    kwargs = {"subfolder": settings.tokenizer_subfolder} if settings.tokenizer_subfolder else {}
    tokenizer = CLIPTokenizer.from_pretrained(resolve_source(settings.tokenizer), **kwargs)
    return lambda text: len(tokenizer(text, add_special_tokens=False)["input_ids"])


def default_loader(settings: GatewaySettings) -> Gateway:
    return Gateway(settings, load_token_counter(settings))


def job_runtime(app: FastAPI):
    """RAG jobs: the queue, and (GATEWAY_JOB_WORKER) a worker sharing this gateway's clients."""
    settings: GatewaySettings = app.state.settings
    return job_runtime_for(
        redis_url=lambda s: s.redis_url,
        make_queue=lambda redis, s: job_queue(redis, s),
        build_worker=(
            lambda app, stopping: build_worker(
                app.state.settings,
                app.state.engine,
                stopping=stopping,
                observe=app.state.gateway_metrics.observe,
            )
        )
        if settings.job_worker
        else None,
        setting_name="GATEWAY_REDIS_URL",
    )(app)


def create_app(
    settings: GatewaySettings | None = None,
    loader: Callable[[GatewaySettings], Gateway] | None = None,
) -> FastAPI:
    settings = settings or GatewaySettings()
    load = loader or default_loader
    app = create_service_app(
        name="gateway",
        title="Batik Nitik RAG gateway",
        description="The public API of Batik Nitik RAG: retrieve reference motifs with CLIP, "
        "caption them with BLIP-2, fuse a prompt, and generate a new motif with Stable "
        "Diffusion img2img. Every error body is `{error: {type, message, request_id}}`.",
        settings=settings,
        load=lambda: load(settings),
        describe=lambda gateway: gateway.describe(),
        routers=[router, jobs_router],
        extra_lifespan=job_runtime,
    )
    # Keys are checked before anything else on /v1, even while the engine loads.
    app.state.auth = ApiKeyAuth(settings.api_key_hashes, settings.admin_key_hashes)
    app.state.metrics.track_inflight(
        lambda: getattr(app.state.engine, "inflight", 0), settings.max_inflight
    )
    app.state.gateway_metrics = GatewayMetrics(app.state.metrics.registry, lambda: app.state.engine)
    origins = settings.cors_origin_list
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            # Never credentials with a wildcard; keys travel in a header, not in cookies.
            allow_credentials="*" not in origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Content-Type", "Authorization", API_KEY_HEADER, REQUEST_ID_HEADER],
            expose_headers=[REQUEST_ID_HEADER, "Server-Timing", "Retry-After", "ETag"],
            max_age=600,
        )
    return app


app = create_app()
