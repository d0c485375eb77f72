"""The gateway's composition root: the upstream clients, the cache, the rate limiter and the
orchestrator, built from settings, and what the app holds on `app.state.engine` while it runs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import httpx
from redis.asyncio import Redis

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
from gateway.fairness import GENERATING_CLIENT, PerClientBound
from gateway.fusion import fuse_prompt
from gateway.image_urls import ImageUrls
from gateway.orchestrator import RagOrchestrator
from gateway.outbox import DesignOutbox
from gateway.saving import DesignSaver
from gateway.security import RateLimiter
from gateway.signed_urls import UrlSigner
from gateway.versions import UpstreamVersions
from gateway.webhook_outbox import WebhookOutbox
from gateway.webhooks import WebhookSender
from services.common.concurrency import InflightLimiter
from services.common.contracts.gateway import RagResponse
from services.common.models import resolve_source


class Gateway:
    """What the gateway holds while it runs: upstream clients, the cache and the orchestrator."""

    def __init__(
        self,
        settings: GatewaySettings,
        count_tokens: Callable[[str], int],
        transports: dict[str, httpx.AsyncBaseTransport] | None = None,
    ) -> None:
        """`transports` (by upstream name) replace the network, e.g. to call apps in process."""
        client = partial(_upstream, settings=settings, transports=transports or {})
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
        # Bounds the RAG flows that reach the upstreams (cache hits are free): past the bound a 429
        # rather than a pile-up upstream.
        self.limiter = InflightLimiter(settings.max_inflight)
        # One key cannot hold every generation slot (issue 16, finding 8).
        self.generations = PerClientBound(settings.max_generations_per_key)
        self.outbox = (
            DesignOutbox(
                _redis(settings.job_redis_url, settings.redis_timeout_s),
                # Past the longest delivery (an embed, then a save), so one deliverer at a time.
                lease_s=settings.retrieval_timeout_s + settings.library_timeout_s + 5,
                refused_ttl_s=settings.job_ttl_s,
            )
            # Only in a Redis declared to persist and never evict: the cache Redis may drop keys.
            if self.library and settings.job_redis_url
            else None
        )
        self.saver: DesignSaver | None = None  # made with the orchestrator: they share versions
        self.orchestrator = self._orchestrator(settings, count_tokens)
        # `response_format: url`: signed URLs of the answers' images (gateway/image_urls.py).
        self.image_urls = ImageUrls(
            UrlSigner(settings.url_secret, settings.url_ttl_s), self.cache, settings.public_url
        )
        # Jobs' `callback_url` (gateway/webhooks.py): pending events wait in the job store's
        # Redis, where the jobs are (without one there are no jobs, so no webhooks).
        self.webhooks = WebhookSender(
            secret=settings.webhook_secret,
            allow=settings.webhook_allow_list,
            attempts=settings.webhook_attempts,
            timeout_s=settings.webhook_timeout_s,
            outbox=WebhookOutbox(
                _redis(settings.job_store_url, settings.redis_timeout_s),
                lease_s=WebhookSender.lease_s(settings.webhook_timeout_s),
            )
            if settings.webhook_secret and settings.job_store_url
            else None,
        )

    async def _admit(self, work: Awaitable[RagResponse]) -> RagResponse:
        """A flow that reaches the upstreams: the in-flight bound, and for a generating request
        its client's bound (issue 16, finding 8)."""
        try:
            with self.generations.hold(GENERATING_CLIENT.get()):
                return await self.limiter.admit(work)
        finally:
            close = getattr(work, "close", None)
            if close:  # a refused coroutine is closed, never started (no never-awaited warning)
                close()

    def _orchestrator(
        self, settings: GatewaySettings, count_tokens: Callable[[str], int]
    ) -> RagOrchestrator:
        versions = UpstreamVersions(
            {
                "retrieval": self.retrieval,
                "captioning": self.captioning,
                "generation": self.generation,
            },
            settings.version_ttl_s,
        )
        if self.library:
            self.saver = DesignSaver(
                library=self.library,
                retrieval=self.retrieval,
                cache=self.cache,
                versions=versions,
                outbox=self.outbox,
                settle_wait_s=settings.library_timeout_s,
            )
        return RagOrchestrator(
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
            deadline_s=settings.rag_deadline_s,
            admit=self._admit,
            saver=self.saver,
        )

    def describe(self) -> dict[str, Any]:
        return {
            "upstreams": {c.name: c.base_url for c in self.upstreams},
            "breakers": {c.name: str(c.breaker.state) for c in self.upstreams},
            "cache": self.cache.describe(),
        }

    async def aclose(self) -> None:
        for client in self.upstreams:
            await client.aclose()
        await self.webhooks.aclose()
        if self.webhooks.outbox is not None:
            await self.webhooks.outbox.redis.aclose()
        await self.cache.aclose()
        await self.rate_limiter.aclose()
        if self.outbox is not None:
            await self.outbox.redis.aclose()


def load_token_counter(settings: GatewaySettings) -> Callable[[str], int]:
    """SD's CLIP tokenizer: fusion measures prompts in the tokens the text encoder will see."""
    from transformers import CLIPTokenizer

    kwargs = {"subfolder": settings.tokenizer_subfolder} if settings.tokenizer_subfolder else {}
    tokenizer = CLIPTokenizer.from_pretrained(
        resolve_source(settings.tokenizer), revision=settings.tokenizer_revision, **kwargs
    )
    # Without vocab.json/merges.txt (a wrong folder or revision) transformers silently builds a
    # tokenizer of the two special tokens, which would count every prompt wrong.
    if len(tokenizer) <= 2:
        raise OSError(
            f"no CLIP vocabulary in {settings.tokenizer} (subfolder {settings.tokenizer_subfolder}, "
            f"revision {settings.tokenizer_revision or 'default'}): check GATEWAY_TOKENIZER*"
        )
    return lambda text: len(tokenizer(text, add_special_tokens=False)["input_ids"])


def _redis(url: str, timeout_s: float) -> Redis:
    return Redis.from_url(url, socket_connect_timeout=timeout_s, socket_timeout=timeout_s)


def _upstream(
    cls: type[UpstreamClient],
    name: str,
    url: str,
    read_timeout_s: float,
    *,
    settings: GatewaySettings,
    transports: dict[str, httpx.AsyncBaseTransport],
) -> Any:
    """One upstream client with its own circuit breaker; `transports[name]`, if any, replaces the
    network (tests call the apps in process)."""
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
