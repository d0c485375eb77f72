"""Step 8 of the RAG flow: keep each generated image as a design of its owner, in the library.

A design is saved with its CLIP embedding (retrieval's `/v1/embed`, so similar designs can be found)
and its provenance: everything needed to understand and repeat it (`provenance`). The answer then
names the designs (`designs: [{id, url}]`).

With a job Redis of its own (GATEWAY_JOB_REDIS_URL: persistent, noeviction; never the cache's Redis,
which may evict) saving is off the answer's path: the
gateway names each design (its id and time), writes it to the outbox there (gateway/outbox.py:
persistent, never evicted) and answers; `drain`, a task of every gateway process woken once the
answer is sent, embeds and saves it in the library, which stores an id once, and retries with
backoff until the library takes it. A
library that is down delays the saves, it loses none; once a delivery has failed for want of it,
answers add `library` to `degraded` (their designs are listed: queued, saved once it is back) until
a delivery succeeds. A read of a
design still in the outbox (its id, its image, a list of its owner's designs) saves it first
(`settle`), so an answer's ids and URLs work at once; while the library is down such a read answers
the library's error, as any read then does. A save the library refuses for good (the owner's library
is full, a remix parent deleted meanwhile) is dropped from the outbox and a read of its id answers
that refusal for a day (GATEWAY_JOB_TTL_S). Without a job Redis, or when it does not answer, a design
is saved before the answer, as below.

Cache hits: the cached answer is the same for every caller, but designs belong to one owner. Next to
the answer the cache keeps, per owner (and per remix parent), the ids of the designs that answer was
saved as. A hit by an owner who has them (and still has them: deleted ones are saved again) answers
them; any other owner's hit saves the cached images as designs of its own. So an owner never sees
another's design ids, and a repeated request does not fill the library with copies.

Saved before the answer (no outbox), a library that is down, or that refuses (its database
unreachable, a quota), never fails the answer: it comes back without designs and with `library` in
`degraded`, and nothing is recorded for the cache, so the next identical request saves. The library
client's circuit breaker lets the first call through once its reset time has passed: saving resumes
without a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from redis.exceptions import RedisError

from gateway.outbox import DesignOutbox, PendingDesign, Refusal
from services.common.contracts.gateway import DesignRef, RagRequest, RagResponse
from services.common.contracts.library import DesignCreate, design_url, new_design_id
from services.common.contracts.retrieval import EmbedRequest
from services.common.errors import (
    DomainError,
    ErrorType,
    ServiceError,
    StoreUnavailableError,
)
from services.common.logging import _request_id, current_request_id

log = logging.getLogger(__name__)
DESIGNS_KEY_PREFIX = "designs:v1:"  # inside the answer cache's own key space


def provenance(
    request: RagRequest, answer: RagResponse, versions: dict[str, str], image: int
) -> dict[str, Any]:
    """How image number `image` of `answer` was made, in the keys the library reads
    (services/common/contracts/library.py). The query image is not kept, only its presence."""
    recorded = request.model_dump(mode="json", exclude={"image", "save", "response_format"})
    retrieval_version = versions.get("retrieval", "")
    return {
        "request": recorded,
        "query_image": request.image is not None,
        "prompt": answer.prompt.model_dump(mode="json"),
        "negative_prompt": request.negative_prompt,
        "references": [hit.model_dump(mode="json") for hit in answer.references],
        "index_version": retrieval_version.rpartition("|")[2] or None,
        "captions": [caption.model_dump(mode="json") for caption in answer.captions],
        "seed": answer.seed,  # a RAG answer has one image per seed
        "scheduler": answer.scheduler,
        "steps": request.steps,
        "strength": request.strength if answer.mode == "img2img" else None,
        "guidance_scale": request.guidance_scale,
        "mode": answer.mode,
        "tile": request.tile,
        "repeat": request.repeat if request.tile else None,
        "symmetry": answer.symmetry,
        "symmetry_scores": answer.symmetry_scores,
        "control_scale": request.control_scale,
        "init_source": request.init_source,
        "styles": [style.model_dump(mode="json") for style in answer.styles],
        "versions": {**versions, "model": answer.model, "model_version": answer.model_version},
        "timings_ms": answer.timings_ms,
    }


async def embeddings_of(retrieval: Any, images: list[str]) -> list[list[float]] | None:
    """The images' CLIP vectors; None (saved, but not found by similarity) if retrieval fails."""
    try:
        return (await retrieval.embed(EmbedRequest(images=images))).images
    except (ServiceError, DomainError) as exc:
        log.warning("designs saved without embeddings: %s", exc.message)
        return None


@dataclass(frozen=True)
class _Owner:
    """The owner a queued design is saved for (the library's `Owner`)."""

    owner: str
    admin: bool = False


# The library's refusals that no retry changes: the save leaves the outbox with its reason.
_REFUSALS = frozenset(
    {
        ErrorType.VALIDATION,
        ErrorType.QUOTA_EXCEEDED,
        ErrorType.PAYLOAD_TOO_LARGE,
        ErrorType.UNSUPPORTED_MEDIA,
    }
)
FIRST_RETRY_S = 0.5
MAX_RETRY_S = 30.0
DRAIN_BATCH = 8
SETTLE_POLL_S = 0.05


class DesignSaver:
    def __init__(
        self,
        *,
        library: Any,
        retrieval: Any,
        cache: Any,
        versions: Callable[[], Awaitable[dict[str, str]]],
        outbox: DesignOutbox | None = None,
        settle_wait_s: float = 10.0,
    ) -> None:
        self.library = library
        self.retrieval = retrieval
        self.cache = cache
        self.versions = versions
        self.outbox = outbox  # None: designs are saved before the answer
        self.settle_wait_s = settle_wait_s  # how long a read waits on another's delivery
        self.queued = asyncio.Event()  # set by `wake`
        self.outcomes = {"queued": 0, "saved": 0, "retried": 0, "refused": 0}
        # The last delivery failed for want of a library (down, or its breaker open): answers say
        # so with `library` in `degraded` until a delivery succeeds again. Their designs are
        # queued all the same, so they are listed; they reach the library once it is back.
        self.library_failing = False

    async def save(
        self, request: RagRequest, answer: RagResponse, owner: Any, *, parent_id: str | None = None
    ) -> RagResponse:
        """`answer` with the designs its images are (or will be) saved as, or `library` degraded."""
        if not answer.images:
            return answer
        started = time.perf_counter()
        known_key = _designs_key(owner.owner, answer.cache.key, parent_id)
        try:
            designs = await self._known(known_key, owner) if answer.cache.hit else None
            if designs is None:
                designs = await self._create(request, answer, owner, parent_id)
                if known_key is not None:
                    await self.cache.set(known_key, {"designs": [d.model_dump() for d in designs]})
        except (ServiceError, DomainError) as exc:  # DomainError: its breaker is open
            log.warning("designs not saved, library unavailable: %s", exc.message)
            return answer.model_copy(update={"degraded": [*answer.degraded, "library"]})
        spent = round((time.perf_counter() - started) * 1000, 2)
        timings = dict(answer.timings_ms)
        timings["library"] = spent
        if "total" in timings:
            timings["total"] = round(timings.pop("total") + spent, 2)  # total stays last
        update: dict[str, Any] = {"designs": designs, "timings_ms": timings}
        if self.outbox is not None and self.library_failing:
            update["degraded"] = [*answer.degraded, "library"]
        return answer.model_copy(update=update)

    async def _create(
        self, request: RagRequest, answer: RagResponse, owner: Any, parent_id: str | None
    ) -> list[DesignRef]:
        versions = await self.versions()
        designs = [
            DesignCreate(
                image_b64=image,
                provenance=provenance(request, answer, versions, n),
                parent_id=parent_id,
            )
            for n, image in enumerate(answer.images)
        ]
        return await self.save_designs(designs, owner)

    async def save_designs(self, designs: list[DesignCreate], owner: Any) -> list[DesignRef]:
        """Name `designs` (an id and a time each) and queue them in the outbox, or (no outbox, or
        it does not answer) embed and save them now: the designs an answer names. Every design the
        gateway makes is saved here: a RAG answer's, a colourway's. Saving now, the library's error
        is raised (a RAG answer is then degraded, a colourway request answers it); the caller wakes
        the drain once its answer is sent (`wake`)."""
        made = datetime.now(UTC)
        designs = [
            d.model_copy(update={"id": new_design_id(), "created_at": made}) for d in designs
        ]
        if self.outbox is not None:
            pending = [
                PendingDesign(owner=owner.owner, design=d, request_id=current_request_id())
                for d in designs
            ]
            try:
                await self.outbox.put(pending)
            except RedisError as exc:
                log.warning("design outbox unavailable (%s); saving now", type(exc).__name__)
            else:
                self.outcomes["queued"] += len(pending)
                return [DesignRef(id=d.id, url=design_url(d.id)) for d in designs]
        embeddings = await self._embeddings([d.image_b64 for d in designs])
        refs = []
        for n, design in enumerate(designs):
            embedding = embeddings[n] if embeddings else None
            saved = await self.library.create(
                design.model_copy(update={"embedding": embedding}), owner
            )
            refs.append(DesignRef(id=saved.id, url=saved.url))
        return refs

    async def _embeddings(self, images: list[str]) -> list[list[float]] | None:
        return await embeddings_of(self.retrieval, images)

    async def _known(self, key: str | None, owner: Any) -> list[DesignRef] | None:
        """The designs this owner already has for a cached answer; None when some are missing."""
        entry = await self.cache.get(key) if key is not None else None
        if not entry:
            return None
        designs = [DesignRef.model_validate(d) for d in entry["designs"]]
        for design in designs:
            if await self._queued(design.id):
                continue  # named, on its way to the library
            try:
                await self.library.design(design.id, owner)
            except ServiceError as exc:
                if exc.type is ErrorType.NOT_FOUND:  # deleted since: save the answer again
                    return None
                raise
        return designs

    async def _queued(self, design_id: str) -> bool:
        if self.outbox is None:
            return False
        try:
            owner, refusal = await self.outbox.state(design_id)
        except RedisError:
            return False
        return owner is not None and refusal is None

    # ---- the outbox: delivering, draining, and reads that need a design saved now ------------

    async def deliver(self, design_id: str) -> None:
        """Save one leased outbox entry in the library. Raises the library's error when it failed;
        the entry is then due again after a backoff, or, refused for good, gone with its reason."""
        assert self.outbox is not None
        pending = await self.outbox.pending(design_id)
        if pending is None:
            return  # saved (or refused) meanwhile by another deliverer
        token = _request_id.set(pending.request_id or design_id)
        try:
            embeddings = await self._embeddings([pending.design.image_b64])
            design = pending.design.model_copy(
                update={"embedding": embeddings[0] if embeddings else None}
            )
            await self.library.create(design, _Owner(pending.owner))
        except ServiceError as exc:
            if exc.type not in _REFUSALS:
                await self._retry(design_id, exc)
                raise
            log.error("design %s refused by the library, not saved: %s", design_id, exc.message)
            await self.outbox.refused(pending, Refusal(type=exc.type, message=exc.message))
            self.outcomes["refused"] += 1
            self.library_failing = False  # it answered: a refusal is no outage
            raise
        except DomainError as exc:  # the library's breaker is open
            await self._retry(design_id, exc)
            raise
        except asyncio.CancelledError:  # shutdown: another gateway may take it at once
            with contextlib.suppress(RedisError):
                await self.outbox.release(design_id)
            raise
        finally:
            _request_id.reset(token)
        await self.outbox.saved(pending)
        self.outcomes["saved"] += 1
        self.library_failing = False

    async def _retry(self, design_id: str, exc: ServiceError | DomainError) -> None:
        assert self.outbox is not None
        self.library_failing = True
        attempts = await self.outbox.retry(design_id, FIRST_RETRY_S, MAX_RETRY_S)
        self.outcomes["retried"] += 1
        log.warning("design %s not saved yet (attempt %d): %s", design_id, attempts, exc.message)

    def wake(self) -> None:
        """Designs were queued: the drain looks now. The routes call it once their answer is sent
        (a background task), so the drain does not compete with the answer for this event loop;
        a RAG job once its flow is done."""
        self.queued.set()

    async def drain(self, idle_s: float = 1.0) -> None:
        """Deliver due outbox entries until cancelled (a task of the gateway's lifespan). Looks
        every `idle_s`, and at once when woken (`wake`)."""
        assert self.outbox is not None
        pause = FIRST_RETRY_S
        while True:
            self.queued.clear()
            try:
                claimed = await self.outbox.claim_due(DRAIN_BATCH)
            except RedisError as exc:
                log.warning("design outbox unavailable (%s); retrying", type(exc).__name__)
                await asyncio.sleep(pause)
                pause = min(pause * 2, MAX_RETRY_S)
                continue
            pause = FIRST_RETRY_S
            for design_id in claimed:
                try:
                    await self.deliver(design_id)
                except (ServiceError, DomainError, RedisError):
                    pass  # logged, and due again (or refused) by `deliver`
                except Exception:
                    log.exception(
                        "design %s: delivery failed; due again after its lease", design_id
                    )
            if len(claimed) < DRAIN_BATCH:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(idle_s):
                        await self.queued.wait()

    async def settle(self, design_id: str, caller: Any) -> None:
        """Before `caller` reads design `design_id`: if it is still in the outbox, save it now.

        Another owner's entry is left alone (the read then answers 404, as for any foreign id). A
        refused save answers its refusal; a delivery that fails answers the library's error."""
        if self.outbox is None:
            return
        deadline = time.monotonic() + self.settle_wait_s
        while True:
            try:
                owner, refusal = await self.outbox.state(design_id)
                if owner is None or not (caller.admin or owner == caller.owner):
                    return
                if refusal is not None:
                    raise ServiceError(
                        refusal.type, f"design {design_id} was not saved: {refusal.message}"
                    )
                if await self.outbox.claim(design_id):
                    try:
                        await self.deliver(design_id)
                    except ServiceError as exc:
                        if exc.type in _REFUSALS:
                            raise ServiceError(
                                exc.type, f"design {design_id} was not saved: {exc.message}"
                            ) from None
                        raise
                    return
            except RedisError as exc:  # the library may have it already: read on
                log.warning("design outbox unavailable (%s)", type(exc).__name__)
                return
            if time.monotonic() > deadline:
                raise StoreUnavailableError(
                    f"design {design_id} is still being saved; try again shortly",
                    retry_after_s=1,
                )
            await asyncio.sleep(SETTLE_POLL_S)

    async def settle_owner(self, caller: Any) -> None:
        """Before a list or search of the caller's designs: save those still in the outbox."""
        if self.outbox is None:
            return
        try:
            pending = await self.outbox.owned(caller.owner)
        except RedisError as exc:
            log.warning("design outbox unavailable (%s)", type(exc).__name__)
            return
        for design_id in pending:
            await self.settle(design_id, caller)


def _designs_key(owner: str, answer_key: str | None, parent_id: str | None) -> str | None:
    if answer_key is None:
        return None
    material = f"{owner}\n{answer_key}\n{parent_id or ''}"
    return DESIGNS_KEY_PREFIX + hashlib.sha256(material.encode()).hexdigest()
