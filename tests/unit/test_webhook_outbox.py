"""The webhook outbox (gateway/webhook_outbox.py) and its drain (gateway/webhooks.py) on a real Redis
and real loopback receivers: two gateways' drains deliver each event once, a try that fails leaves
the event due again after its backoff, a receiver's refusal and the last failed try remove it (and
are counted), a drain stopped mid-try gives its lease back, and a job Redis that does not answer
still gets the event delivered from the process."""

from __future__ import annotations

import asyncio
import json
import threading

from redis.asyncio import Redis

from gateway.webhook_outbox import PREFIX, WebhookOutbox
from gateway.webhooks import WebhookSender
from tests.helpers import WebhookReceiver

DUE = PREFIX + "due"


def sender(redis: Redis, *, attempts: int = 3, outbox: bool = True, **kw) -> WebhookSender:
    return WebhookSender(
        secret="s",
        allow=["127.0.0.1"],
        attempts=attempts,
        timeout_s=kw.pop("timeout_s", 5.0),
        outbox=WebhookOutbox(redis, lease_s=kw.pop("lease_s", 30.0)) if outbox else None,
        **kw,
    )


def run(redis_server, scenario):
    async def main():
        redis = Redis.from_url(redis_server.url)
        await redis.flushdb()
        try:
            await scenario(redis)
        finally:
            await redis.aclose()

    asyncio.run(main())


async def until(condition, deadline_s: float = 30.0, every_s: float = 0.02) -> None:
    async with asyncio.timeout(deadline_s):
        while not await condition():
            await asyncio.sleep(every_s)


async def stopped(*drains: asyncio.Task) -> None:
    for drain in drains:
        drain.cancel()
    await asyncio.wait(drains)


def test_two_gateways_drains_deliver_each_event_once(redis_server):
    with WebhookReceiver() as receiver:

        async def scenario(redis):
            a, b = sender(redis), sender(redis)
            for n in range(24):  # more than one drain takes at once
                await (a if n % 2 else b).send(receiver.url + "/hook", {"job_id": f"j{n}"})
            drains = [asyncio.create_task(s.drain(idle_s=0.05)) for s in (a, b)]

            async def delivered() -> bool:
                return a.outcomes["delivered"] + b.outcomes["delivered"] == 24

            await until(delivered)
            await stopped(*drains)
            assert await redis.zcard(DUE) == 0
            assert a.outcomes["delivered"] and b.outcomes["delivered"]  # both drains took some
            await a.aclose()
            await b.aclose()

        run(redis_server, scenario)
        ids = [json.loads(r["body"])["id"] for r in receiver.received]
    assert len(ids) == 24 and len(set(ids)) == 24  # every event, none twice


def test_a_failed_try_is_due_again_after_its_backoff_and_the_last_one_gives_up(redis_server):
    with WebhookReceiver(then=503) as receiver:

        async def scenario(redis):
            hooks = sender(redis, attempts=2, first_backoff_s=1.0)
            await hooks.send(receiver.url + "/hook", {"job_id": "j"})
            [event_id] = [i.decode() for i in await redis.zrange(DUE, 0, -1)]
            outbox = hooks.outbox
            assert await outbox.claim_due(8) == [event_id]
            await hooks.deliver_pending(event_id)  # try 1: a 503
            pending = await outbox.pending(event_id)
            assert pending is not None and pending.attempts == 1
            assert await outbox.claim_due(8) == []  # waiting out its backoff
            await until(lambda: _claimed(outbox, event_id))
            await hooks.deliver_pending(event_id)  # try 2 of 2: a 503 again, the last
            assert await outbox.pending(event_id) is None and await redis.zcard(DUE) == 0
            assert hooks.outcomes == {
                "queued": 1,
                "delivered": 0,
                "retried": 1,
                "refused": 0,
                "given_up": 1,
            }
            await hooks.aclose()

        run(redis_server, scenario)
        first, second = receiver.received
    assert first["body"] == second["body"]  # the same event, byte for byte
    assert first["headers"]["X-Batik-Event-Id"] == json.loads(first["body"])["id"]


async def _claimed(outbox, event_id) -> bool:
    return await outbox.claim_due(8) == [event_id]


def test_a_receivers_refusal_and_a_refused_target_remove_the_event(redis_server):
    with WebhookReceiver(then=410) as receiver:

        async def scenario(redis):
            hooks = sender(redis)
            await hooks.send(receiver.url + "/gone", {"job_id": "a"})
            # The guard runs again at send time: a target not allowed (any more) is refused then.
            await hooks.send("http://10.9.9.9/hook", {"job_id": "b"})
            for event_id in await hooks.outbox.claim_due(8):
                await hooks.deliver_pending(event_id)
            assert await redis.zcard(DUE) == 0 and await redis.keys(PREFIX + "*") == []
            assert hooks.outcomes["refused"] == 2 and hooks.outcomes["retried"] == 0
            await hooks.aclose()

        run(redis_server, scenario)
    assert [r["path"] for r in receiver.received] == ["/gone"]


def test_a_drain_stopped_mid_try_gives_its_lease_back(redis_server):
    # A receiver that takes the request and never answers: the try is in flight when it stops.
    hold = threading.Event()
    with WebhookReceiver() as receiver:
        receiver.hold = hold

        async def scenario(redis):
            hooks = sender(redis, timeout_s=60.0, lease_s=600.0)
            await hooks.send(receiver.url + "/slow", {"job_id": "j"})
            drain = asyncio.create_task(hooks.drain(idle_s=0.05))
            await asyncio.to_thread(receiver.wait_for, 1)
            [(event_id, leased_until)] = await redis.zrange(DUE, 0, -1, withscores=True)
            await stopped(drain)
            [(_, due)] = await redis.zrange(DUE, 0, -1, withscores=True)
            assert due < leased_until  # due now, not when the 600 s lease would end
            assert await hooks.outbox.claim_due(8) == [event_id.decode()]
            await hooks.aclose()

        try:
            run(redis_server, scenario)
        finally:
            hold.set()


def test_a_job_redis_that_does_not_answer_still_gets_the_event_delivered(redis_server):
    with WebhookReceiver() as receiver:

        async def scenario(_redis):
            dead = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5)
            hooks = sender(dead)
            await hooks.send(receiver.url + "/hook", {"job_id": "j"})  # no error: logged
            await asyncio.gather(*hooks._tasks)
            assert hooks.outcomes["delivered"] == 1
            await hooks.aclose()
            await dead.aclose()

        run(redis_server, scenario)
        [delivered] = receiver.wait_for(1)
    assert json.loads(delivered["body"])["data"] == {"job_id": "j"}


def test_an_event_whose_body_is_gone_is_forgotten_not_claimed_for_ever(redis_server):
    """The outbox may sit in an evicting Redis (no job Redis of its own): an entry evicted while
    its due mark stays is dropped at its next claim, not leased again after every lease."""

    async def scenario(redis):
        hooks = sender(redis, lease_s=0.05)
        await hooks.send("http://127.0.0.1:9/hook", {"job_id": "j"})
        [event_id] = [i.decode() for i in await redis.zrange(DUE, 0, -1)]
        await redis.delete(hooks.outbox.leases.entry(event_id))  # evicted
        assert await hooks.outbox.claim_due(8) == [event_id]
        await hooks.deliver_pending(event_id)
        await asyncio.sleep(0.1)  # past the lease
        assert await hooks.outbox.claim_due(8) == []
        assert await redis.zcard(DUE) == 0 and await redis.keys(PREFIX + "*") == []
        await hooks.aclose()

    run(redis_server, scenario)
