"""The gateway (port 8000): the only public door. Orchestrates retrieval, captioning and
generation, fuses the prompt, and caches answers in Redis."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, TypeVar

from fastapi import FastAPI

from gateway.api import router
from gateway.cache import ResponseCache, cache_key, make_cache
from gateway.clients import CaptioningClient, GenerationClient, RetrievalClient, UpstreamClient
from gateway.config import GatewaySettings
from gateway.fusion import fuse_prompt
from gateway.orchestrator import RagOrchestrator
from services.common.app import create_service_app
from services.common.errors import ErrorType, ServiceError
from services.common.models import resolve_source

T = TypeVar("T")


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

    def __init__(self, settings: GatewaySettings, count_tokens: Callable[[str], int]) -> None:
        timeouts = dict(connect_timeout_s=settings.connect_timeout_s, retries=settings.retries)
        self.retrieval = RetrievalClient(
            "retrieval",
            settings.retrieval_url,
            read_timeout_s=settings.retrieval_timeout_s,
            **timeouts,
        )
        self.captioning = CaptioningClient(
            "captioning",
            settings.captioning_url,
            read_timeout_s=settings.captioning_timeout_s,
            **timeouts,
        )
        self.generation = GenerationClient(
            "generation",
            settings.generation_url,
            read_timeout_s=settings.generation_timeout_s,
            **timeouts,
        )
        self.cache: ResponseCache = make_cache(
            settings.redis_url, ttl_s=settings.cache_ttl_s, max_entries=settings.cache_max_entries
        )
        self.max_inflight = settings.max_inflight
        self.inflight = 0
        self.orchestrator = RagOrchestrator(
            retrieval=self.retrieval,
            captioning=self.captioning,
            generation=self.generation,
            cache=self.cache,
            fuse=partial(fuse_prompt, count_tokens=count_tokens),
            versions=UpstreamVersions(
                {
                    "retrieval": self.retrieval,
                    "captioning": self.captioning,
                    "generation": self.generation,
                },
                settings.version_ttl_s,
            ),
            key_of=cache_key,
            generation_size=settings.generation_size,
            caption_prompt=settings.caption_prompt,
            max_facts=settings.max_facts,
        )

    async def limited(self, work: Awaitable[T]) -> T:
        """Bound concurrent RAG flows; past the bound answer 429 rather than pile up upstream."""
        if self.inflight >= self.max_inflight:
            close = getattr(work, "close", None)
            if close:
                close()
            raise ServiceError(
                ErrorType.OVERLOADED,
                f"{self.inflight} RAG requests in flight; retry shortly",
                headers={"Retry-After": "1"},
            )
        self.inflight += 1
        try:
            return await work
        finally:
            self.inflight -= 1

    def describe(self) -> dict[str, Any]:
        return {
            "upstreams": {
                c.name: c.base_url for c in (self.retrieval, self.captioning, self.generation)
            },
            "cache": self.cache.describe(),
        }

    async def aclose(self) -> None:
        for client in (self.retrieval, self.captioning, self.generation):
            await client.aclose()
        await self.cache.aclose()


def load_token_counter(settings: GatewaySettings) -> Callable[[str], int]:
    """SD's CLIP tokenizer: fusion measures prompts in the tokens the text encoder will see."""
    from transformers import CLIPTokenizer

    kwargs = {"subfolder": settings.tokenizer_subfolder} if settings.tokenizer_subfolder else {}
    tokenizer = CLIPTokenizer.from_pretrained(resolve_source(settings.tokenizer), **kwargs)
    return lambda text: len(tokenizer(text, add_special_tokens=False)["input_ids"])


def default_loader(settings: GatewaySettings) -> Gateway:
    return Gateway(settings, load_token_counter(settings))


def create_app(
    settings: GatewaySettings | None = None,
    loader: Callable[[GatewaySettings], Gateway] | None = None,
) -> FastAPI:
    settings = settings or GatewaySettings()
    load = loader or default_loader
    return create_service_app(
        name="gateway",
        title="Batik Nitik RAG gateway",
        description="The public API of Batik Nitik RAG: retrieve reference motifs with CLIP, "
        "caption them with BLIP-2, fuse a prompt, and generate a new motif with Stable "
        "Diffusion img2img. Every error body is `{error: {type, message, request_id}}`.",
        settings=settings,
        load=lambda: load(settings),
        describe=lambda gateway: gateway.describe(),
        routers=[router],
    )


app = create_app()
