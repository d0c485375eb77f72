"""API keys and the rate limiter, without the app around them (real Redis where Redis is involved)."""

from __future__ import annotations

import asyncio
import hashlib

import pytest
import redis
from starlette.requests import Request

from gateway.fairness import generation_cost
from gateway.security import RATE_KEY_PREFIX, ApiKeyAuth, RateLimiter
from services.common.errors import ErrorType, ServiceError
from tests.helpers import free_port


def request_with(headers: dict[str, str]) -> Request:
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    return Request({"type": "http", "headers": raw, "client": ("10.0.0.7", 5000)})


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def test_keys_off_identifies_the_client_by_address():
    assert ApiKeyAuth([]).client_of(request_with({})) == "addr:10.0.0.7"


@pytest.mark.parametrize(
    ("headers", "outcome"),
    [
        ({}, ErrorType.UNAUTHORIZED),
        ({"Authorization": "Basic abc"}, ErrorType.UNAUTHORIZED),
        ({"X-API-Key": "wrong"}, ErrorType.FORBIDDEN),
        ({"Authorization": "Bearer wrong"}, ErrorType.FORBIDDEN),
        ({"X-API-Key": "second"}, "key:" + digest("second")[:16]),
        ({"Authorization": "Bearer first"}, "key:" + digest("first")[:16]),
    ],
)
def test_a_key_must_hash_to_a_stored_hash(headers, outcome):
    auth = ApiKeyAuth([digest("first"), digest("second")])
    if isinstance(outcome, ErrorType):
        with pytest.raises(ServiceError) as refused:
            auth.client_of(request_with(headers))
        assert refused.value.type is outcome
    else:
        assert auth.client_of(request_with(headers)) == outcome


def statuses(limiter: RateLimiter, client: str, n: int) -> list[object]:
    async def main():
        out = []
        for _ in range(n):
            try:
                await limiter.check(client)
                out.append("ok")
            except ServiceError as exc:
                out.append((exc.status, int(exc.headers["Retry-After"])))
        await limiter.aclose()
        return out

    return asyncio.run(main())


def test_in_process_window_counts_per_client():
    limiter = RateLimiter(limit=2, window_s=60)
    got = statuses(limiter, "key:a", 3)
    assert got[:2] == ["ok", "ok"]
    status, retry_after = got[2]
    assert status == 429 and 59 <= retry_after <= 60
    assert statuses(limiter, "key:b", 1) == ["ok"]
    assert limiter.limited == 1


def test_redis_window_expires_with_its_key(redis_server):
    store = redis.Redis.from_url(redis_server.url)
    store.delete(RATE_KEY_PREFIX + "key:r")
    got = statuses(RateLimiter(limit=1, window_s=30, redis_url=redis_server.url), "key:r", 2)
    assert got[0] == "ok" and got[1][0] == 429
    assert int(store.get(RATE_KEY_PREFIX + "key:r")) == 2
    assert 0 < store.pttl(RATE_KEY_PREFIX + "key:r") <= 30_000  # the window cleans itself up


def test_a_cost_counts_as_that_many_requests_in_process_and_in_redis(redis_server):
    async def main(limiter: RateLimiter) -> list[str]:
        out = []
        for cost in (3, 1, 1):  # 3, then 4 (the limit), then 5: refused
            try:
                await limiter.check("key:c", cost)
                out.append("ok")
            except ServiceError as exc:
                out.append(str(exc.status))
        await limiter.aclose()
        return out

    redis.Redis.from_url(redis_server.url).delete(RATE_KEY_PREFIX + "key:c")
    for url in (None, redis_server.url):
        assert asyncio.run(main(RateLimiter(limit=4, window_s=60, redis_url=url))) == [
            "ok",
            "ok",
            "429",
        ]


@pytest.mark.parametrize(
    ("steps", "side", "cost"),
    [(30, 512, 1), (150, 512, 5), (1, 64, 1), (30, 1024, 4), (31, 512, 2)],
)
def test_a_generation_costs_its_steps_times_pixels(steps, side, cost):
    assert generation_cost(steps, side, side) == cost


def test_zero_turns_the_limit_off():
    assert statuses(RateLimiter(limit=0, window_s=60), "key:z", 5) == ["ok"] * 5


def test_a_dead_redis_lets_requests_through():
    dead = f"redis://127.0.0.1:{free_port()}/0"
    assert statuses(RateLimiter(limit=1, window_s=60, redis_url=dead), "key:d", 3) == ["ok"] * 3


def test_the_owner_is_a_stable_id_of_the_key_never_the_key():
    auth = ApiKeyAuth([digest("first")], admin_hashes=[digest("boss")])
    first = auth.identify(request_with({"X-API-Key": "first"}))
    again = auth.identify(request_with({"Authorization": "Bearer first"}))
    assert first.owner == again.owner == digest("first")[:16]
    assert "first" not in first.owner and not first.admin
    boss = auth.identify(request_with({"X-API-Key": "boss"}))  # admin keys are accepted keys
    assert boss.admin and boss.owner == digest("boss")[:16]
    with pytest.raises(ServiceError) as refused:
        auth.identify(request_with({"X-API-Key": "nobody"}))
    assert refused.value.type is ErrorType.FORBIDDEN


def test_keys_off_everyone_shares_the_anonymous_library():
    caller = ApiKeyAuth([]).identify(request_with({"X-API-Key": "whatever"}))
    assert (caller.owner, caller.admin) == ("anonymous", False)
