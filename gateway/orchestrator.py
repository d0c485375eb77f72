"""The RAG flow as numbered steps. No FastAPI, httpx or redis here: collaborators come in through the
constructor, so the flow is the same whatever carries it.

1. cache      answer from the cache when the same request was answered before; on a miss, join the
              identical request already running, if any (single flight), else run steps 2-7
2. retrieve   nearest motifs to the query (text, image or both)
3. reference  fetch the top reference image (the caption's subject and img2img's start)
4. caption    describe the init image; on failure, a timeout or no time left before the request's
              deadline, go on with metadata facts alone ("captioning")
5. fuse       query + motif + caption + facts -> one prompt within SD's 77 tokens
6. generate   img2img from the reference or the query image, or txt2img (504 past the deadline)
7. store      cache the answer (never a degraded one)
8. save       keep each image as a design of the caller (gateway/saving.py), on a hit too: named
              and queued in the job Redis's outbox, saved after the answer; without one, saved
              here, and a library that fails only adds `library` to `degraded`

Steps 1-7 of a synchronous request share one deadline (GATEWAY_RAG_DEADLINE_S, gateway/deadline.py):
each upstream call waits at most the time left.

Run as a job (`run(..., progress=<a ProgressReporter>)`, gateway/jobs.py), the flow reports as each
stage (retrieval, captioning, fusion, generation) starts, and the reporter may stop it there (a cancel);
the generate step then runs as a generation job whose progress it records step by step. A job
skips single flight: its progress and cancel are its own.
"""

from __future__ import annotations

import base64
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from contextlib import contextmanager
from typing import Any

import anyio.to_thread

from gateway.deadline import within
from gateway.ports import (
    AnswerCache,
    Captioning,
    DesignSaving,
    Generation,
    ProgressReporter,
    Retrieval,
)
from gateway.singleflight import SingleFlight
from services.common.contracts.captioning import CaptionRequest
from services.common.contracts.gateway import (
    CacheInfo,
    Caption,
    FusedPrompt,
    RagRequest,
    RagResponse,
)
from services.common.contracts.generation import GenerateRequest, GenerateResponse
from services.common.contracts.retrieval import (
    Hit,
    RetrievalOptions,
    SearchRequest,
    SearchResponse,
)
from services.common.errors import DomainError, ErrorType, ServiceError
from services.common.images import repeat_preview, to_base64
from services.common.text import sentences

log = logging.getLogger(__name__)

Fuse = Callable[..., FusedPrompt]


class RagOrchestrator:
    def __init__(
        self,
        *,
        retrieval: Retrieval,
        captioning: Captioning,
        generation: Generation,
        cache: AnswerCache,
        fuse: Fuse,
        versions: Callable[[], Awaitable[dict[str, str]]],
        key_of: Callable[[dict[str, Any], str | None, dict[str, str]], str],
        generation_size: int = 512,
        caption_prompt: str | None = None,
        max_facts: int = 3,
        flights: SingleFlight[RagResponse] | None = None,
        admit: Callable[[Awaitable[RagResponse]], Awaitable[RagResponse]] | None = None,
        saver: DesignSaving | None = None,
        deadline_s: float | None = None,
    ) -> None:
        self.retrieval = retrieval
        self.captioning = captioning
        self.generation = generation
        self.cache = cache
        self.fuse = fuse
        self.versions = versions
        self.key_of = key_of
        self.generation_size = generation_size
        self.caption_prompt = caption_prompt
        self.max_facts = max_facts
        self.flights: SingleFlight[RagResponse] = flights or SingleFlight()
        # Bounds the flows that reach the upstreams; a cache hit costs nothing and is not counted.
        self.admit = admit or (lambda work: work)
        self.saver = saver  # None: no library, nothing is saved
        # One deadline for steps 1-7 of a synchronous request (gateway/deadline.py); jobs have their own
        # time limit (GATEWAY_JOB_TIMEOUT_S) and keep each upstream's full timeout.
        self.deadline_s = deadline_s

    async def run(
        self,
        request: RagRequest,
        image_sha256: str | None,
        *,
        progress: ProgressReporter | None = None,
        owner: Any = None,
        parent_id: str | None = None,
    ) -> RagResponse:
        """The answer; with an `owner` its images are saved as their designs (step 8)."""
        started = time.perf_counter()
        request = with_seed(request)
        seed = request.seed if request.generate else None

        # Steps 1-7 of a synchronous request share one deadline; a job has GATEWAY_JOB_TIMEOUT_S.
        with within(self.deadline_s if progress is None else None):
            # 1. cache
            key, hit, timings = await self._lookup(request, image_sha256, started)
            if hit is not None:
                return await self._save(request, hit, owner, parent_id)
            if progress is not None:
                answer, shared = await self._answer(request, key, seed, progress), False
            else:
                answer, shared = await self.flights.do(
                    key, lambda: self.admit(self._answer(request, key, seed))
                )
        stages = {k: v for k, v in answer.timings_ms.items() if k != "total"}
        timings = {**timings, **stages, "total": round((time.perf_counter() - started) * 1000, 2)}
        answer = answer.model_copy(
            update={"cache": CacheInfo(hit=False, key=key, shared=shared), "timings_ms": timings}
        )
        return await self._save(request, answer, owner, parent_id)

    async def cached(
        self, request: RagRequest, image_sha256: str | None, *, owner: Any = None
    ) -> RagResponse | None:
        """Step 1 alone (then step 8): the cached answer to `request` (its seed set), or None."""
        request = with_seed(request)
        hit = (await self._lookup(request, image_sha256, time.perf_counter()))[1]
        return None if hit is None else await self._save(request, hit, owner, None)

    async def _save(
        self, request: RagRequest, answer: RagResponse, owner: Any, parent_id: str | None
    ) -> RagResponse:
        """8. save: the images as designs of `owner`, unless the request says `save: false`."""
        if self.saver is None or owner is None or not request.save:
            return answer
        return await self.saver.save(request, answer, owner, parent_id=parent_id)

    async def _lookup(
        self, request: RagRequest, image_sha256: str | None, started: float
    ) -> tuple[str, RagResponse | None, dict[str, float]]:
        """The cache key, the cached answer (as a hit) or None, and the time it took."""
        timings: dict[str, float] = {}
        with _stopwatch(timings)("cache"):
            versions = await self.versions()
            # `save` changes what is kept and `response_format` how images travel, not the answer:
            # each pair shares one cache entry.
            key = self.key_of(
                request.model_dump(exclude={"save", "response_format"}), image_sha256, versions
            )
            cached = await self.cache.get(key)
        if cached is None:
            return key, None, timings
        answer = RagResponse.model_validate(cached)
        timings["total"] = round((time.perf_counter() - started) * 1000, 2)
        hit = answer.model_copy(
            update={"cache": CacheInfo(hit=True, key=key), "timings_ms": timings}
        )
        return key, hit, timings

    async def _answer(
        self,
        request: RagRequest,
        key: str,
        seed: int | None,
        progress: ProgressReporter | None = None,
    ) -> RagResponse:
        """Steps 2-7: the flow behind a cache miss."""
        started = time.perf_counter()
        timings: dict[str, float] = {}
        timed = _stopwatch(timings)

        async def stage(name: str) -> None:
            if progress is not None:
                await progress.stage(name)

        # 2-3. retrieve, then fetch the top reference image
        await stage("retrieval")
        found, reference_b64 = await self._retrieve(request, timed)
        top = found.hits[0] if found.hits else None

        # 4. caption the image generation starts from (the top reference unless the query is)
        degraded: list[str] = []
        subject, subject_id = (
            (request.image, None)
            if request.init_source == "query"
            else (reference_b64, top.id if top else None)
        )
        captions: list[Caption] = []
        if subject is not None:
            await stage("captioning")
            with timed("captioning"):
                captions = await self._caption(subject, subject_id, degraded)

        # 5. fuse
        await stage("fusion")
        with timed("fusion"):
            prompt = self._fuse(request, top, captions)

        # 6. generate
        generated: GenerateResponse | None = None
        previews: list[str] = []
        if request.generate:
            await stage("generation")
            with timed("generation"):
                generated = await self._generate(request, prompt, reference_b64, seed, progress)
            if request.preview_repeat:
                with timed("preview"):
                    layout = request.repeat if request.tile else "full"
                    previews = [await _preview(image, layout) for image in generated.images]

        timings["total"] = round((time.perf_counter() - started) * 1000, 2)
        answer = RagResponse(
            references=found.hits,
            index_version=found.index.version,
            captions=captions,
            prompt=prompt,
            seed=seed,
            previews=previews,
            timings_ms=timings,
            cache=CacheInfo(hit=False, key=key),
            degraded=degraded,
            **_generated_fields(generated),
        )

        # 7. store: a degraded answer would outlive the outage that caused it.
        if not degraded:
            await self.cache.set(key, answer.model_dump(mode="json"))
        return answer

    async def _caption(
        self, subject: str, subject_id: int | None, degraded: list[str]
    ) -> list[Caption]:
        """Step 4: the subject's caption; a failing captioner adds `captioning` to `degraded`."""
        try:
            answer = await self.captioning.caption(
                CaptionRequest(image=subject, prompt=self.caption_prompt)
            )
        except (ServiceError, DomainError) as exc:  # an error answer, or its breaker open
            log.warning("captioning degraded: %s", exc.message)
            degraded.append("captioning")
            return []
        return [Caption(reference_id=subject_id, text=answer.caption)] if answer.caption else []

    def _fuse(self, request: RagRequest, top: Hit | None, captions: list[Caption]) -> FusedPrompt:
        """Step 5: query, motif name, captions and the motif's first facts in one prompt."""
        facts = sentences(top.motif.description_en)[: self.max_facts] if top else []
        return self.fuse(
            query=request.text,
            motif_name=top.motif.name if top else None,
            captions=[c.text for c in captions],
            facts=facts,
        )

    async def _generate(
        self,
        request: RagRequest,
        prompt: FusedPrompt,
        reference_b64: str | None,
        seed: int | None,
        progress: ProgressReporter | None,
    ) -> GenerateResponse:
        """Step 6: img2img from the reference or the query image, or txt2img."""
        init = {"reference": reference_b64, "query": request.image, "none": None}[
            request.init_source
        ]
        generate_request = GenerateRequest(
            prompt=prompt.text or (request.text or "Batik Nitik motif"),
            negative_prompt=request.negative_prompt,
            init_image=init,
            strength=request.strength,
            guidance_scale=request.guidance_scale,
            steps=request.steps,
            seed=seed,
            width=self.generation_size,
            height=self.generation_size,
            tile=request.tile,
            repeat=request.repeat,
            symmetry=request.symmetry,
            control_scale=request.control_scale,
            style=request.style,
            style_scale=request.style_scale,
            styles=request.styles,
            preview=request.preview,
            # Without img2img, a ControlNet still follows the reference's edges.
            control_image=reference_b64
            if request.control_scale is not None and init is None
            else None,
        )
        if progress is None:
            return await self.generation.generate(generate_request)
        return await self.generation.generate_tracked(generate_request, progress)

    async def _retrieve(self, request: RagRequest, timed) -> tuple[SearchResponse, str | None]:
        """The search and, unless generation starts from the query image, the top reference (base64).

        Ids belong to one index version: if a reload swapped the index between the two calls, the
        image fetch answers 404 and the search runs once more on the new index.
        """
        search = SearchRequest(
            text=request.text,
            image=request.image,
            top_k=request.top_k,
            **request.model_dump(include=set(RetrievalOptions.model_fields)),
        )
        for attempt in (1, 2):
            with timed("retrieval"):
                found = await self.retrieval.search(search)
            if not found.hits or request.init_source == "query":
                return found, None
            try:
                with timed("reference"):
                    raw = await self.retrieval.image(
                        found.hits[0].id, size=512, index_version=found.index.version
                    )
            except ServiceError as exc:
                if exc.type is ErrorType.NOT_FOUND and attempt == 1:
                    log.info("index swapped between search and image fetch; searching again")
                    continue
                raise
            return found, to_base64(raw)
        raise AssertionError("unreachable")


def _generated_fields(generated: GenerateResponse | None) -> dict[str, Any]:
    """The answer's fields that come from step 6 (no images when nothing was generated)."""
    if generated is None:
        return {"images": []}
    return {
        "images": generated.images,
        "mode": generated.mode,
        "model": generated.model,
        "scheduler": generated.scheduler,
        "symmetry": generated.symmetry,
        "symmetry_scores": generated.symmetry_scores,
        "model_version": generated.model_version,
        "styles": generated.styles,
    }


def with_seed(request: RagRequest) -> RagRequest:
    """A request without a seed gets one now, so its answer is reproducible and cacheable."""
    if request.generate and request.seed is None:
        return request.model_copy(update={"seed": secrets.randbelow(2**32)})
    return request


async def _preview(image_b64: str, repeat: str) -> str:
    """The 3x3 repeat of one generated tile, built off the event loop (PNG encoding is CPU work)."""
    raw = base64.b64decode(image_b64)
    return to_base64(await anyio.to_thread.run_sync(repeat_preview, raw, repeat))


def _stopwatch(timings: dict[str, float]):
    """`with timed("stage"):` records the block's milliseconds in `timings`."""

    @contextmanager
    def timed(stage: str):
        t0 = time.perf_counter()
        try:
            yield
        finally:
            timings[stage] = round((time.perf_counter() - t0) * 1000, 2)

    return timed
