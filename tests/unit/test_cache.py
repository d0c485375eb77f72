import asyncio

import pytest

from gateway.cache import MemoryCache, RedisCache, cache_key
from tests.helpers import free_port

VERSIONS = {"retrieval": "clip@1|idx@1", "captioning": "blip2@1", "generation": "sd@1"}
REQUEST = {"text": "Sekar  Bunga ", "top_k": 5, "seed": 7, "strength": 0.55}


def test_key_ignores_case_and_spacing_of_the_query():
    assert cache_key(REQUEST, None, VERSIONS) == cache_key(
        {**REQUEST, "text": "sekar bunga"}, None, VERSIONS
    )


@pytest.mark.parametrize(
    "change",
    [
        {"seed": 8},
        {"strength": 0.6},
        {"top_k": 3},
        {"text": "sekar jagad"},
    ],
)
def test_key_changes_with_every_parameter(change):
    assert cache_key(REQUEST, None, VERSIONS) != cache_key({**REQUEST, **change}, None, VERSIONS)


def test_key_changes_with_image_and_every_version():
    base = cache_key(REQUEST, None, VERSIONS)
    assert cache_key(REQUEST, "abc", VERSIONS) != base
    for name in VERSIONS:
        assert cache_key(REQUEST, None, {**VERSIONS, name: "other"}) != base


def test_memory_cache_is_a_bounded_lru():
    async def scenario():
        cache = MemoryCache(max_entries=2, ttl_s=60)
        await cache.set("a", {"v": 1})
        await cache.set("b", {"v": 2})
        assert await cache.get("a") == {"v": 1}  # a is now the most recent
        await cache.set("c", {"v": 3})
        return [await cache.get(k) for k in "abc"]

    assert asyncio.run(scenario()) == [{"v": 1}, None, {"v": 3}]


def test_memory_cache_expires_entries():
    async def scenario():
        cache = MemoryCache(max_entries=2, ttl_s=0)
        await cache.set("a", {"v": 1})
        await asyncio.sleep(0.01)
        return await cache.get("a")

    assert asyncio.run(scenario()) is None


def test_redis_cache_round_trip_with_ttl(redis_server):
    import redis

    async def scenario():
        cache = RedisCache(redis_server.url, ttl_s=30)
        await cache.set("k1", {"images": ["x"]})
        value = await cache.get("k1")
        await cache.aclose()
        return value

    assert asyncio.run(scenario()) == {"images": ["x"]}
    ttl = redis.Redis.from_url(redis_server.url).ttl("batik:rag:v1:k1")
    assert 0 < ttl <= 30


def test_redis_cache_that_is_down_is_skipped_not_raised():
    async def scenario():
        cache = RedisCache(f"redis://127.0.0.1:{free_port()}/0", ttl_s=30)
        await cache.set("k", {"v": 1})
        value = await cache.get("k")
        await cache.aclose()
        return value

    assert asyncio.run(scenario()) is None
