"""The RAG answer cache: Redis when configured, a bounded in-process LRU otherwise.

The key covers everything that changes the answer: the normalised request, the query image's hash, the
seed, and the versions of every model, adapter and index upstream. A cache that fails is logged and
skipped: the gateway never answers 5xx because of its cache.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections import OrderedDict
from typing import Any, Protocol

log = logging.getLogger(__name__)
KEY_PREFIX = "batik:rag:v1:"


def cache_key(request: dict[str, Any], image_sha256: str | None, versions: dict[str, str]) -> str:
    normalised = dict(request)
    normalised.pop("image", None)  # represented by its hash
    if isinstance(normalised.get("text"), str):
        # CLIP's tokenizer lowercases and splits on whitespace: these queries are the same.
        normalised["text"] = " ".join(normalised["text"].lower().split())
    material = {"request": normalised, "image": image_sha256, "versions": versions}
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


class ResponseCache(Protocol):
    async def get(self, key: str) -> dict[str, Any] | None: ...
    async def set(self, key: str, value: dict[str, Any]) -> None: ...
    async def aclose(self) -> None: ...
    def describe(self) -> dict[str, Any]: ...


class MemoryCache:
    def __init__(self, max_entries: int, ttl_s: int) -> None:
        self.max_entries = max_entries
        self.ttl_s = ttl_s
        self._entries: OrderedDict[str, tuple[float, dict[str, Any]]] = OrderedDict()

    async def get(self, key: str) -> dict[str, Any] | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, value = entry
        if expires < time.monotonic():
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return value

    async def set(self, key: str, value: dict[str, Any]) -> None:
        self._entries[key] = (time.monotonic() + self.ttl_s, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    async def aclose(self) -> None:
        self._entries.clear()

    def describe(self) -> dict[str, Any]:
        return {"backend": "memory", "entries": len(self._entries), "max": self.max_entries}


class RedisCache:
    def __init__(self, url: str, ttl_s: int) -> None:
        import redis.asyncio as redis

        self.url = url
        self.ttl_s = ttl_s
        # Short socket timeouts: a dead Redis must cost milliseconds, not the request.
        self._client = redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._errors = (redis.RedisError, OSError)

    async def get(self, key: str) -> dict[str, Any] | None:
        try:
            raw = await self._client.get(KEY_PREFIX + key)
        except self._errors as exc:
            log.warning("cache read skipped, Redis unavailable: %s", exc)
            return None
        return json.loads(raw) if raw else None

    async def set(self, key: str, value: dict[str, Any]) -> None:
        try:
            await self._client.set(KEY_PREFIX + key, json.dumps(value), ex=self.ttl_s)
        except self._errors as exc:
            log.warning("cache write skipped, Redis unavailable: %s", exc)

    async def aclose(self) -> None:
        await self._client.aclose()

    def describe(self) -> dict[str, Any]:
        return {"backend": "redis", "ttl_s": self.ttl_s}


def make_cache(redis_url: str | None, *, ttl_s: int, max_entries: int) -> ResponseCache:
    return RedisCache(redis_url, ttl_s) if redis_url else MemoryCache(max_entries, ttl_s)
