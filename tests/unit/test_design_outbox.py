"""The design outbox's leases on a real Redis (gateway/outbox.py): one deliverer at a time, a retry
that backs off, a read that may take an entry waiting out its backoff but not one being delivered,
and a refusal that keeps only its reason."""

from __future__ import annotations

import asyncio
import time

import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError

from gateway.outbox import DUE, DesignOutbox, PendingDesign, Refusal
from services.common.contracts.library import DesignCreate, new_design_id
from services.common.errors import ErrorType


def pending(owner: str = "alice") -> PendingDesign:
    design = DesignCreate(id=new_design_id(), image_b64="iVBORw0KGgo=", provenance={"seed": 1})
    return PendingDesign(owner=owner, design=design)


def run(redis_server, scenario):
    async def main():
        redis = Redis.from_url(redis_server.url)
        await redis.flushdb()
        try:
            await scenario(DesignOutbox(redis, lease_s=30, refused_ttl_s=60), redis)
        finally:
            await redis.aclose()

    asyncio.run(main())


def test_a_claimed_entry_has_one_deliverer_until_it_is_saved(redis_server):
    async def scenario(outbox, redis):
        a, b = pending(), pending("bob")
        await outbox.put([a, b])
        assert await outbox.owned("alice") == [a.design.id]
        assert sorted(await outbox.claim_due(8)) == sorted([a.design.id, b.design.id])
        assert await outbox.claim_due(8) == []  # leased: no second deliverer
        assert not await outbox.claim(a.design.id)  # nor a read
        assert (await outbox.pending(a.design.id)) == a
        await outbox.saved(a)
        assert await outbox.state(a.design.id) == (None, None)
        assert await outbox.owned("alice") == [] and await outbox.size() == 1
        assert await outbox.retry(a.design.id, 1, 10) == 0  # saved meanwhile: nothing to retry
        assert not await redis.exists(f"batik:designs:outbox:entry:{a.design.id}")

    run(redis_server, scenario)


def test_a_retry_backs_off_but_a_read_may_take_it_at_once(redis_server):
    async def scenario(outbox, redis):
        item = pending()
        await outbox.put([item])
        (design_id,) = await outbox.claim_due(8)
        assert await outbox.retry(design_id, 5, 8) == 1
        assert await outbox.retry(design_id, 5, 8) == 2
        not_before = await redis.zscore(DUE, design_id)
        assert 8 - 1 < not_before - time.time() <= 8  # 5, then 10 capped at 8
        assert await outbox.claim_due(8) == []  # the drain waits out the backoff
        assert await outbox.claim(design_id)  # a read does not
        assert not await outbox.claim(design_id)  # and holds it now
        await outbox.release(design_id)
        assert await outbox.claim_due(8) == [design_id]

    run(redis_server, scenario)


def test_a_refused_save_keeps_only_its_reason_for_a_while(redis_server):
    async def scenario(outbox, redis):
        item = pending()
        await outbox.put([item])
        refusal = Refusal(type=ErrorType.QUOTA_EXCEEDED, message="the library is full")
        await outbox.refused(item, refusal)
        assert await outbox.state(item.design.id) == ("alice", refusal)
        assert await outbox.pending(item.design.id) is None  # the image is not kept
        assert await outbox.size() == 0 and await outbox.owned("alice") == []
        assert 0 < await redis.ttl(f"batik:designs:outbox:entry:{item.design.id}") <= 60

    run(redis_server, scenario)


def test_a_full_job_redis_refuses_the_whole_put(redis_server):
    """noeviction at its memory limit refuses each write as it is queued, so the transaction is
    aborted: no design is half queued, and the saver falls back to saving before the answer."""

    async def scenario(outbox, redis):
        await redis.config_set("maxmemory", "1")
        try:
            with pytest.raises(RedisError):
                await outbox.put([pending(), pending()])
        finally:
            await redis.config_set("maxmemory", "0")
        assert await redis.keys("batik:designs:outbox:*") == []

    run(redis_server, scenario)
