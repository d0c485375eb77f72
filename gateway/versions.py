"""Model, adapter and index versions of the upstreams: part of every cache key, so that an answer
made by another model or index is never served."""

from __future__ import annotations

import time

from gateway.clients import UpstreamClient


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
