"""The design outbox: designs the gateway has named in an answer but the library has not saved yet.

It lives in the job Redis (append-only file, `noeviction`: what jobs trust to survive a restart), so a
gateway that answers with a design id has the design on disk in Redis first; the saver
(gateway/saving.py) delivers it to the library and removes it only once the library has it. Every
gateway replica drains every entry. Keys:

    batik:designs:outbox:due            sorted set: design id -> not before (unix s): due, leased,
                                        or waiting out a retry's backoff
    batik:designs:outbox:entry:{id}     hash: payload (the save, JSON), owner, attempts, leased_until;
                                        a refused save keeps only error_type / error_message, for
                                        `refused_ttl_s`
    batik:designs:outbox:owner:{owner}  set: the owner's pending design ids (a list reads them first)

A claim moves an entry's time `lease_s` ahead, so one deliverer works on it at a time; a gateway that
dies mid-delivery leaves it to be claimed again when the lease ends (the library saves an id once).
Those lease mechanics (`LeasedEntries`) are shared with the webhook outbox (gateway/webhook_outbox.py).
"""

from __future__ import annotations

import time
from typing import Any

from pydantic import BaseModel

from services.common.contracts.library import DesignCreate
from services.common.errors import ErrorType

PREFIX = "batik:designs:outbox:"
DUE = PREFIX + "due"

# KEYS[1] = due; ARGV = now, lease until, limit, entry key prefix. The ids due now, each leased in
# the same step.
_CLAIM_DUE = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, id in ipairs(ids) do
  redis.call('ZADD', KEYS[1], ARGV[2], id)
  redis.call('HSET', ARGV[4] .. id, 'leased_until', ARGV[2])
end
return ids
"""

# KEYS[1] = due, KEYS[2] = entry; ARGV = id, now, lease until. 1 when this caller now holds the
# entry's lease: a read takes an entry that waits out a retry's backoff, not one being delivered.
_CLAIM_ONE = """
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
local leased = redis.call('HGET', KEYS[2], 'leased_until')
if leased and tonumber(leased) > tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
redis.call('HSET', KEYS[2], 'leased_until', ARGV[3])
return 1
"""

# KEYS[1] = due, KEYS[2] = entry; ARGV = id, now, first delay, longest delay. The failed attempts
# so far, and the entry is due again after a delay that doubles with each (0: saved meanwhile).
_RETRY = """
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
local attempts = redis.call('HINCRBY', KEYS[2], 'attempts', 1)
local delay = math.min(tonumber(ARGV[3]) * 2 ^ (attempts - 1), tonumber(ARGV[4]))
redis.call('ZADD', KEYS[1], tonumber(ARGV[2]) + delay, ARGV[1])
redis.call('HSET', KEYS[2], 'leased_until', 0)
return attempts
"""

# KEYS[1] = due, KEYS[2] = entry; ARGV = id, now. Due again now, lease given back (if still queued).
_RELEASE = """
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('HSET', KEYS[2], 'leased_until', 0)
return 1
"""


class LeasedEntries:
    """The lease mechanics of an outbox, by key prefix: `{prefix}due`, a sorted set of entry ids by
    the time each is due (not before, unix s), and `{prefix}entry:{id}` hashes holding at least
    `attempts` and `leased_until`. A claim moves an entry's time `lease_s` ahead, so one deliverer
    works on it at a time; one that dies mid-delivery leaves it to the next claim once the lease
    ends. The design outbox and the webhook outbox (gateway/webhook_outbox.py) are both this."""

    def __init__(self, redis: Any, prefix: str, *, lease_s: float) -> None:
        self.redis = redis
        self.due = prefix + "due"
        self.entry_prefix = prefix + "entry:"
        self.lease_s = lease_s
        self._claim_due = redis.register_script(_CLAIM_DUE)
        self._claim_one = redis.register_script(_CLAIM_ONE)
        self._retry = redis.register_script(_RETRY)
        self._release = redis.register_script(_RELEASE)

    def entry(self, entry_id: str) -> str:
        return self.entry_prefix + entry_id

    def add(self, tx: Any, entry_id: str, fields: dict[str, Any], now: float) -> None:
        """In the caller's transaction: a new entry with `fields`, due at `now`."""
        tx.hset(self.entry(entry_id), mapping={**fields, "attempts": 0})
        tx.zadd(self.due, {entry_id: now})

    def forget(self, tx: Any, entry_id: str) -> None:
        """In the caller's transaction: the entry is done with (delivered, or given up)."""
        tx.zrem(self.due, entry_id)
        tx.delete(self.entry(entry_id))

    async def claim_due(self, limit: int) -> list[str]:
        """Up to `limit` ids due now, leased to the caller."""
        now = time.time()
        args = [now, now + self.lease_s, limit, self.entry_prefix]
        return [i.decode() for i in await self._claim_due(keys=[self.due], args=args)]

    async def claim(self, entry_id: str) -> bool:
        """Lease this one entry, even while it waits out a retry's backoff; False while another
        deliverer holds it, or when it is gone."""
        now = time.time()
        keys = [self.due, self.entry(entry_id)]
        return await self._claim_one(keys=keys, args=[entry_id, now, now + self.lease_s]) == 1

    async def retry(self, entry_id: str, first_s: float, longest_s: float) -> int:
        """Due again after `first_s`, doubled for each failed attempt, at most `longest_s`; the
        failed attempts so far (0: it was done with meanwhile)."""
        keys = [self.due, self.entry(entry_id)]
        return int(await self._retry(keys=keys, args=[entry_id, time.time(), first_s, longest_s]))

    async def release(self, entry_id: str) -> None:
        """Give a lease back (a delivery stopped by shutdown): due again now."""
        await self._release(keys=[self.due, self.entry(entry_id)], args=[entry_id, time.time()])

    async def size(self) -> int:
        """Entries waiting (due, leased, or waiting out a backoff)."""
        return int(await self.redis.zcard(self.due))


class PendingDesign(BaseModel):
    """One design to save: whose, and the library call that saves it (its id chosen already)."""

    owner: str
    design: DesignCreate  # `id` and `created_at` set; no embedding (computed when delivered)
    request_id: str | None = None


class Refusal(BaseModel):
    """Why the library refused a save for good (a full library, an invalid design)."""

    type: ErrorType
    message: str


def _entry(design_id: str) -> str:
    return f"{PREFIX}entry:{design_id}"


def _owned(owner: str) -> str:
    return f"{PREFIX}owner:{owner}"


class DesignOutbox:
    def __init__(self, redis: Any, *, lease_s: float, refused_ttl_s: int = 86_400) -> None:
        self.redis = redis
        self.lease_s = lease_s
        self.refused_ttl_s = refused_ttl_s
        self.leases = LeasedEntries(redis, PREFIX, lease_s=lease_s)

    async def put(self, pending: list[PendingDesign]) -> None:
        """Keep these designs until they are saved: all of them or (on an error) none."""
        now = time.time()
        async with self.redis.pipeline(transaction=True) as tx:
            for item in pending:
                design_id = item.design.id
                fields = {"payload": item.model_dump_json(), "owner": item.owner}
                self.leases.add(tx, design_id, fields, now)
                tx.sadd(_owned(item.owner), design_id)
            await tx.execute()

    async def claim_due(self, limit: int) -> list[str]:
        """Up to `limit` ids due now, leased to the caller."""
        return await self.leases.claim_due(limit)

    async def claim(self, design_id: str) -> bool:
        """Lease this one entry (a read that needs it saved now), even while it waits out a retry's
        backoff; False while another deliverer holds it, or when it is gone."""
        return await self.leases.claim(design_id)

    async def pending(self, design_id: str) -> PendingDesign | None:
        payload = await self.redis.hget(_entry(design_id), "payload")
        return None if payload is None else PendingDesign.model_validate_json(payload)

    async def state(self, design_id: str) -> tuple[str | None, Refusal | None]:
        """(owner, refusal) of an entry: (None, None) when there is none (saved, or never named)."""
        owner, kind, message = await self.redis.hmget(
            _entry(design_id), "owner", "error_type", "error_message"
        )
        if owner is None:
            return None, None
        refusal = Refusal(type=ErrorType(kind.decode()), message=message.decode()) if kind else None
        return owner.decode(), refusal

    async def owned(self, owner: str) -> list[str]:
        """The owner's pending design ids."""
        return sorted(i.decode() for i in await self.redis.smembers(_owned(owner)))

    async def saved(self, pending: PendingDesign) -> None:
        """The library has it: forget it."""
        design_id = pending.design.id
        async with self.redis.pipeline(transaction=True) as tx:
            self.leases.forget(tx, design_id)
            tx.srem(_owned(pending.owner), design_id)
            await tx.execute()

    async def retry(self, design_id: str, first_s: float, longest_s: float) -> int:
        """Due again after `first_s`, doubled for each failed attempt, at most `longest_s`; the
        failed attempts so far (0: it was saved meanwhile)."""
        return await self.leases.retry(design_id, first_s, longest_s)

    async def release(self, design_id: str) -> None:
        """Give a lease back (a delivery stopped by shutdown): due again now."""
        await self.leases.release(design_id)

    async def refused(self, pending: PendingDesign, refusal: Refusal) -> None:
        """The library will never take it: keep only why, for a while, for reads of its id."""
        design_id = pending.design.id
        async with self.redis.pipeline(transaction=True) as tx:
            tx.zrem(DUE, design_id)
            tx.srem(_owned(pending.owner), design_id)
            tx.hdel(_entry(design_id), "payload")
            tx.hset(
                _entry(design_id),
                mapping={"error_type": refusal.type.value, "error_message": refusal.message},
            )
            tx.expire(_entry(design_id), self.refused_ttl_s)
            await tx.execute()

    async def size(self) -> int:
        """Designs waiting to be saved (due or being delivered)."""
        return await self.leases.size()
