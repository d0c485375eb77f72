"""Who may call the gateway, and how often.

API keys: the settings hold `sha256:<hex>` hashes, never keys. A request's key (`X-API-Key`, or
`Authorization: Bearer <key>`) is hashed and compared with every stored hash in constant time, so
neither the answer time nor an early exit tells how much of a guess was right. No key: 401; a key
that matches nothing: 403. With no hashes configured, keys are off (the local demo).

Owner: every stored thing (design, board) belongs to the key that made it. The owner id is the first
16 hex digits of the key's sha256, the same digits that open its entry in GATEWAY_API_KEYS, so an
operator can tell whose it is; the key itself never leaves the gateway. Admin keys
(GATEWAY_ADMIN_KEYS, accepted like the others) see every owner's designs. With keys off every caller
is `anonymous`: one shared library.

Rate limit: a fixed window per client (the key's hash, or the client address when keys are off),
started by the client's first request, counted in Redis so every gateway replica shares it. A request
counts 1; a generating one counts its cost (`gateway/fairness.py`, steps x pixels). Past the
limit: 429 with `Retry-After` = the seconds left in the window. A Redis that fails lets the request
through (logged): like the cache, the limiter never turns into an outage.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import time
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.security import APIKeyHeader, HTTPBearer

from services.common.errors import ErrorType, ServiceError

log = logging.getLogger(__name__)
API_KEY_HEADER = "X-API-Key"
RATE_KEY_PREFIX = "batik:ratelimit:v1:"
ANONYMOUS = "anonymous"
OWNER_ID_HEX = 16  # digits of the key's sha256 that name its owner
# What OpenAPI says of the key (its `securitySchemes`); never raising: ApiKeyAuth decides.
API_KEY_SCHEME = APIKeyHeader(
    name=API_KEY_HEADER,
    scheme_name="ApiKeyAuth",
    description="An API key of GATEWAY_API_KEYS (or GATEWAY_ADMIN_KEYS).",
    auto_error=False,
)
BEARER_SCHEME = HTTPBearer(
    scheme_name="BearerAuth",
    description="The same API key as `Authorization: Bearer <key>`.",
    auto_error=False,
)


@dataclass(frozen=True)
class Caller:
    """Who an authorised request comes from."""

    client: str  # the rate-limit identity
    owner: str  # whose designs and boards it sees
    admin: bool = False  # sees every owner's


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiKeyAuth:
    def __init__(self, key_hashes: list[str], admin_hashes: list[str] | None = None) -> None:
        admins = [bytes.fromhex(h) for h in admin_hashes or []]
        self._admins = admins
        self._hashes = [bytes.fromhex(h) for h in key_hashes] + admins

    @property
    def enabled(self) -> bool:
        return bool(self._hashes)

    def client_of(self, request: Request) -> str:
        """The rate-limit identity of an authorised request; 401 / 403 otherwise."""
        return self.identify(request).client

    def identify(self, request: Request) -> Caller:
        """The caller of an authorised request (rate-limit identity, owner, admin); 401 / 403."""
        if not self.enabled:
            address = request.client.host if request.client else "unknown"
            return Caller(client=f"addr:{address}", owner=ANONYMOUS)
        key = request.headers.get(API_KEY_HEADER) or _bearer(request.headers.get("authorization"))
        if not key:
            raise ServiceError(
                ErrorType.UNAUTHORIZED,
                f"an API key is required: send it in the {API_KEY_HEADER} header",
                headers={"WWW-Authenticate": "ApiKey"},
            )
        digest = hashlib.sha256(key.encode()).digest()
        matched = admin = False
        for stored in self._hashes:  # no early exit: the time does not depend on which one matched
            matched |= hmac.compare_digest(digest, stored)
        for stored in self._admins:
            admin |= hmac.compare_digest(digest, stored)
        if not matched:
            raise ServiceError(ErrorType.FORBIDDEN, "this API key is not accepted")
        owner = digest.hex()[:OWNER_ID_HEX]
        return Caller(client=f"key:{owner}", owner=owner, admin=admin)


def _bearer(value: str | None) -> str | None:
    scheme, _, token = (value or "").partition(" ")
    return (token.strip() or None) if scheme.lower() == "bearer" else None


_WINDOW_SCRIPT = """
redis.call('SET', KEYS[1], 0, 'EX', ARGV[1], 'NX')
local count = redis.call('INCRBY', KEYS[1], ARGV[2])
return {count, redis.call('PTTL', KEYS[1])}
"""


@dataclass(frozen=True)
class RateLimitStatus:
    """Where a client's window stands after a request: sent as the RateLimit-* headers."""

    limit: int
    remaining: int
    reset_s: int

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_s),
        }


class RateLimiter:
    """`limit` requests per `window_s` per client; Redis when given a URL, else this process."""

    def __init__(self, limit: int, window_s: int, redis_url: str | None = None) -> None:
        self.limit = limit
        self.window_s = window_s
        self.limited = 0  # requests refused, for metrics
        self._redis: Any = None
        self._windows: dict[str, tuple[int, float]] = {}  # client -> (count, window end)
        if redis_url and limit:
            import redis.asyncio as redis

            self._redis = redis.from_url(redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)
            self._errors = (redis.RedisError, OSError)
            # Start the window if there is none (with its expiry), count this request, read the TTL.
            self._window = self._redis.register_script(_WINDOW_SCRIPT)

    async def check(self, client: str, cost: int = 1) -> RateLimitStatus | None:
        """Count `cost` units against `client`'s window; 429 once the window holds more than
        `limit`. A request costs 1; a generating one pays its extra cost once its body is read.
        The window's standing after it, or None when nothing was counted (limit off, no cost,
        Redis down)."""
        if not self.limit or cost <= 0:
            return None
        counted = await self._count(client, cost)
        if counted is None:
            return None
        count, seconds_left = counted
        reset_s = max(1, math.ceil(seconds_left))
        status = RateLimitStatus(self.limit, max(0, self.limit - count), reset_s)
        if count > self.limit:
            self.limited += 1
            retry_after = reset_s
            raise ServiceError(
                ErrorType.OVERLOADED,
                f"rate limit of {self.limit} requests per {self.window_s} s reached (a generating "
                "request counts its steps x pixels; see docs/GATEWAY.md); "
                f"retry in {retry_after} s",
                headers={"Retry-After": str(retry_after), **status.headers()},
            )
        return status

    async def _count(self, client: str, cost: int) -> tuple[int, float] | None:
        """The units counted in the client's window with this one, and the seconds it has left."""
        if self._redis is None:
            now = time.monotonic()
            count, ends = self._windows.get(client, (0, 0.0))
            if ends <= now:
                count, ends = 0, now + self.window_s
                self._drop_expired(now)
            self._windows[client] = (count + cost, ends)
            return count + cost, ends - now
        key = RATE_KEY_PREFIX + client
        try:
            # One script, one command and one reply per request (a MULTI pipeline of three commands
            # cost about 0.8 ms of parsing in redis-py; the script is atomic just the same).
            count, ttl_ms = await self._window(keys=[key], args=[self.window_s, cost])
        except self._errors as exc:
            log.warning("rate limit skipped, Redis unavailable: %s", exc)
            return None
        return int(count), max(ttl_ms, 0) / 1000

    def _drop_expired(self, now: float) -> None:
        if len(self._windows) > 10_000:
            self._windows = {c: w for c, w in self._windows.items() if w[1] > now}

    async def aclose(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()
