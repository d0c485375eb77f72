"""The webhook outbox: `job.finished` events the gateway has promised a job's `callback_url` and not
delivered yet.

It lives in the job store's Redis (GATEWAY_JOB_REDIS_URL, else GATEWAY_REDIS_URL: wherever the job
itself lives, so the promise is kept as long as the job is), and it is the design outbox's pattern
(gateway/outbox.py, `LeasedEntries`): every gateway replica drains every entry, a claim leases it
to one deliverer, a failed try makes it due again after a backoff, and a gateway that stops or dies
leaves it to the next claim. Keys:

    batik:webhooks:outbox:due           sorted set: event id -> not before (unix s): due, leased,
                                        or waiting out a retry's backoff
    batik:webhooks:outbox:entry:{id}    hash: url, body (the exact bytes signed and sent), job_id,
                                        attempts (failed tries so far), leased_until

An entry is removed once the receiver took it (2xx), refused it (another 4xx, or a target the guard
refuses at send time) or after its last try; the sender (gateway/webhooks.py) logs and counts each.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from gateway.outbox import LeasedEntries

PREFIX = "batik:webhooks:outbox:"


@dataclass(frozen=True)
class PendingWebhook:
    event_id: str
    url: str
    body: bytes
    job_id: str
    attempts: int  # failed tries so far


class WebhookOutbox:
    def __init__(self, redis: Any, *, lease_s: float) -> None:
        self.redis = redis
        self.leases = LeasedEntries(redis, PREFIX, lease_s=lease_s)

    async def put(self, event_id: str, url: str, body: bytes, job_id: str) -> None:
        """Keep this event until it is delivered or given up; due now."""
        fields = {"url": url, "body": body, "job_id": job_id}
        async with self.redis.pipeline(transaction=True) as tx:
            self.leases.add(tx, event_id, fields, time.time())
            await tx.execute()

    async def claim_due(self, limit: int) -> list[str]:
        """Up to `limit` event ids due now, leased to the caller."""
        return await self.leases.claim_due(limit)

    async def pending(self, event_id: str) -> PendingWebhook | None:
        url, body, job_id, attempts = await self.redis.hmget(
            self.leases.entry(event_id), "url", "body", "job_id", "attempts"
        )
        if url is None or body is None:
            return None  # done with meanwhile
        return PendingWebhook(event_id, url.decode(), body, (job_id or b"").decode(), int(attempts))

    async def done(self, event_id: str) -> None:
        """Delivered, refused or given up: forget it."""
        async with self.redis.pipeline(transaction=True) as tx:
            self.leases.forget(tx, event_id)
            await tx.execute()

    async def retry(self, event_id: str, first_s: float, longest_s: float) -> int:
        """Due again after `first_s`, doubled for each failed try; the failed tries so far."""
        return await self.leases.retry(event_id, first_s, longest_s)

    async def release(self, event_id: str) -> None:
        """Give the lease back (shutdown): due again now, for another gateway."""
        await self.leases.release(event_id)

    async def size(self) -> int:
        """Events waiting to be delivered (due, leased, or waiting out a backoff)."""
        return await self.leases.size()
