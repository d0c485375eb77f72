"""Step 8 of the RAG flow: keep each generated image as a design of its owner, in the library.

A design is saved with its CLIP embedding (retrieval's `/v1/embed`, so similar designs can be found)
and its provenance: everything needed to understand and repeat it (`provenance`). The answer then
names the designs (`designs: [{id, url}]`).

Cache hits: the cached answer is the same for every caller, but designs belong to one owner. Next to
the answer the cache keeps, per owner (and per remix parent), the ids of the designs that answer was
saved as. A hit by an owner who has them (and still has them: deleted ones are saved again) answers
them; any other owner's hit saves the cached images as designs of its own. So an owner never sees
another's design ids, and a repeated request does not fill the library with copies.

A library that is down, or that refuses (its database unreachable, a quota), never fails the answer:
it comes back without designs and with `library` in `degraded`, and nothing is recorded for the
cache, so the next identical request saves. The library client's circuit breaker lets the first
call through once its reset time has passed: saving resumes without a restart.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from services.common.contracts.gateway import DesignRef, RagRequest, RagResponse
from services.common.contracts.library import DesignCreate
from services.common.contracts.retrieval import EmbedRequest
from services.common.errors import DomainError, ErrorType, ServiceError

log = logging.getLogger(__name__)
DESIGNS_KEY_PREFIX = "designs:v1:"  # inside the answer cache's own key space


def provenance(
    request: RagRequest, answer: RagResponse, versions: dict[str, str], image: int
) -> dict[str, Any]:
    """How image number `image` of `answer` was made, in the keys the library reads
    (services/common/contracts/library.py). The query image is not kept, only its presence."""
    recorded = request.model_dump(mode="json", exclude={"image", "save"})
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


class DesignSaver:
    def __init__(
        self,
        *,
        library: Any,
        retrieval: Any,
        cache: Any,
        versions: Callable[[], Awaitable[dict[str, str]]],
    ) -> None:
        self.library = library
        self.retrieval = retrieval
        self.cache = cache
        self.versions = versions

    async def save(
        self, request: RagRequest, answer: RagResponse, owner: Any, *, parent_id: str | None = None
    ) -> RagResponse:
        """`answer` with the designs its images are saved as, or with `library` degraded."""
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
        return answer.model_copy(update={"designs": designs, "timings_ms": timings})

    async def _create(
        self, request: RagRequest, answer: RagResponse, owner: Any, parent_id: str | None
    ) -> list[DesignRef]:
        embeddings = await self._embeddings(answer.images)
        versions = await self.versions()
        designs = []
        for n, image in enumerate(answer.images):
            design = await self.library.create(
                DesignCreate(
                    image_b64=image,
                    embedding=embeddings[n] if embeddings else None,
                    provenance=provenance(request, answer, versions, n),
                    parent_id=parent_id,
                ),
                owner,
            )
            designs.append(DesignRef(id=design.id, url=design.url))
        return designs

    async def _embeddings(self, images: list[str]) -> list[list[float]] | None:
        """The images' CLIP vectors; None (saved, but not found by similarity) if retrieval fails."""
        try:
            return (await self.retrieval.embed(EmbedRequest(images=images))).images
        except (ServiceError, DomainError) as exc:
            log.warning("designs saved without embeddings: %s", exc.message)
            return None

    async def _known(self, key: str | None, owner: Any) -> list[DesignRef] | None:
        """The designs this owner already has for a cached answer; None when some are missing."""
        entry = await self.cache.get(key) if key is not None else None
        if not entry:
            return None
        designs = [DesignRef.model_validate(d) for d in entry["designs"]]
        for design in designs:
            try:
                await self.library.design(design.id, owner)
            except ServiceError as exc:
                if exc.type is ErrorType.NOT_FOUND:  # deleted since: save the answer again
                    return None
                raise
        return designs


def _designs_key(owner: str, answer_key: str | None, parent_id: str | None) -> str | None:
    if answer_key is None:
        return None
    material = f"{owner}\n{answer_key}\n{parent_id or ''}"
    return DESIGNS_KEY_PREFIX + hashlib.sha256(material.encode()).hexdigest()
