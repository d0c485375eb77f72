"""`Idempotency-Key` (as Stripe's): a retried `POST /v1/jobs` or `POST /v1/rag` answers what the
first one did instead of doing it twice.

A key belongs to its API key's owner and lives a day in the job Redis, a job's key no longer than
its job (`for_records_of`): a key that outlived its job would find no job to answer, only its record,
and so answer "still being submitted" (429) until the record expired:

    batik:idem:v1:{scope}:{owner}:{sha256(key)} -> {"fingerprint": sha256 of the body, ...what it made}

The first request with a key claims it with `SET NX` and records what it decided before doing it
(the job's id, or the RAG answer's seed), so concurrent duplicates agree on one job: the losers read
the winner's record. The same key with another body is refused (`idempotency_mismatch`, 422). A RAG
answer given under a key is also kept in the answer cache (`answer_key`) for its retries.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import BaseModel

from services.common.errors import IdempotencyMismatchError

HEADER = "Idempotency-Key"
MAX_LENGTH = 255
PATTERN = r"^[\x20-\x7e]+$"  # printable ASCII: no control characters
TTL_S = 86_400
KEY_PREFIX = "batik:idem:v1:"

# KEYS[1] = the key's record; ARGV[1] = the record its claimer wrote. Deletes only that claim.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def for_records_of(ttl_s: int) -> int:
    """How long a key lives that names a record living `ttl_s` after its last write (a job): a day,
    or less, so it never outlives that record (the key is written before the record is)."""
    return min(TTL_S, ttl_s)


def _span(seconds: int) -> str:
    return f"{seconds // 3600} h" if seconds % 3600 == 0 else f"{seconds // 60} min"


def fingerprint(body: BaseModel) -> str:
    """The body as validated (defaults filled in), so `{"text": "a"}` and the same with its
    default `top_k` are one request."""
    canonical = json.dumps(body.model_dump(mode="json"), sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


class IdempotencyStore:
    def __init__(self, redis: Any, *, scope: str, ttl_s: int = TTL_S) -> None:
        self.redis = redis
        self.scope = scope  # "jobs" or "rag": one key may name one of each
        self.ttl_s = ttl_s

    def _key(self, owner: str, key: str) -> str:
        digest = hashlib.sha256(key.encode()).hexdigest()
        return f"{KEY_PREFIX}{self.scope}:{owner}:{digest}"

    async def claim(
        self, owner: str, key: str, body_fingerprint: str, decided: dict[str, Any]
    ) -> tuple[bool, dict[str, Any]]:
        """(True, `decided`) for the first request with `key` (recorded now); (False, what the
        first decided) for a repeat of its body; IdempotencyMismatchError for another body."""
        record = json.dumps({"fingerprint": body_fingerprint, **decided}, sort_keys=True)
        for _ in range(3):  # a record that expires between SET NX and GET is claimed again
            if await self.redis.set(self._key(owner, key), record, nx=True, ex=self.ttl_s):
                return True, decided
            raw = await self.redis.get(self._key(owner, key))
            if raw is None:
                continue
            stored = json.loads(raw)
            if stored.pop("fingerprint") != body_fingerprint:
                raise IdempotencyMismatchError(
                    f"this {HEADER} was used with another request body in the last "
                    f"{_span(self.ttl_s)}: use a new key for a new request"
                )
            return False, stored
        raise RuntimeError("an idempotency record kept vanishing")

    async def release(
        self, owner: str, key: str, body_fingerprint: str, decided: dict[str, Any]
    ) -> None:
        """Give up a claim whose request failed before doing anything, so a retry can do it."""
        record = json.dumps({"fingerprint": body_fingerprint, **decided}, sort_keys=True)
        await self.redis.eval(_RELEASE, 1, self._key(owner, key), record)

    def answer_key(self, owner: str, key: str) -> str:
        """Where (in the answer cache) a RAG answer given under this key is kept for retries."""
        return "idem:" + self._key(owner, key).removeprefix(KEY_PREFIX)

    async def claimed(self, owner: str, key: str) -> bool:
        return bool(await self.redis.exists(self._key(owner, key)))
