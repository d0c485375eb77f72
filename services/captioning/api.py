from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from services.captioning.captioner import Blip2Captioner
from services.common.contracts.captioning import (
    AdaptersResponse,
    CaptionItem,
    CaptionRequest,
    CaptionResponse,
    VqaRequest,
    VqaResponse,
)
from services.common.errors import ErrorType, ServiceError, error_responses
from services.common.health import require_ready
from services.common.images import ImageLimits, decode_image, decode_images

router = APIRouter(prefix="/v1", tags=["captioning"])
ReadyEngine = Annotated[Blip2Captioner, Depends(require_ready)]  # 503 not_ready while loading

_IMAGE_ERRORS = (
    ErrorType.PAYLOAD_TOO_LARGE,
    ErrorType.UNSUPPORTED_MEDIA,
    ErrorType.NOT_FOUND,
    ErrorType.OVERLOADED,
    ErrorType.NOT_READY,
)


def _caption(
    engine: Blip2Captioner,
    body: CaptionRequest,
    payloads: list[str],
    fields: list[str],
    limits: ImageLimits,
):
    # Decoding runs here, in the worker thread: a large upload must not stall the event loop.
    images = decode_images(payloads, limits=limits, fields=fields)
    return engine.caption_batch(images, body.prompt, body.max_new_tokens, body.adapter)


def _answer(engine: Blip2Captioner, body: VqaRequest, limits: ImageLimits):
    image = decode_image(body.image, limits=limits)
    return engine.answer(image, body.question, body.max_new_tokens, body.adapter)


@router.post(
    "/caption",
    operation_id="caption",
    response_model=CaptionResponse,
    summary="Describe one motif image, or a batch of them",
    description="BLIP-2 (with the default or the named LoRA adapter) captions `image`, or each of `images` in one batch; a degenerate output is retried once, then answered empty with the reason.",
    responses=error_responses(*_IMAGE_ERRORS),
)
async def caption(body: CaptionRequest, request: Request, engine: ReadyEngine) -> CaptionResponse:
    settings = request.app.state.settings
    payloads = body.all_images()
    if len(payloads) > settings.max_batch:
        raise ServiceError(
            ErrorType.VALIDATION,
            f"images: {len(payloads)} images; this service takes at most {settings.max_batch}",
        )
    engine.registry.resolve(body.adapter)  # an unknown adapter is a 404 before any queueing
    fields = (
        [f"images[{i}]" for i in range(len(payloads))] if body.images is not None else ["image"]
    )
    outcomes, adapter = await request.app.state.limiter.run(
        _caption, engine, body, payloads, fields, settings.image_limits
    )
    items = [
        CaptionItem(caption=o.text, degenerate=o.degenerate, reason=o.reason, attempts=o.attempts)
        for o in outcomes
    ]
    single = body.image is not None
    return CaptionResponse(
        caption=items[0].caption if single else None,
        degenerate=items[0].degenerate if single else any(i.degenerate for i in items),
        captions=items,
        model=engine.source,
        adapter=adapter,
    )


@router.post(
    "/vqa",
    operation_id="vqa",
    response_model=VqaResponse,
    summary="Answer a question about a motif image",
    description="BLIP-2 answers `question` about `image` in a few words (with the default or the named adapter).",
    responses=error_responses(*_IMAGE_ERRORS),
)
async def vqa(body: VqaRequest, request: Request, engine: ReadyEngine) -> VqaResponse:
    engine.registry.resolve(body.adapter)
    outcome, adapter = await request.app.state.limiter.run(
        _answer, engine, body, request.app.state.settings.image_limits
    )
    return VqaResponse(
        answer=outcome.text,
        degenerate=outcome.degenerate,
        reason=outcome.reason,
        attempts=outcome.attempts,
        model=engine.source,
        adapter=adapter,
    )


@router.get(
    "/adapters",
    operation_id="listAdapters",
    response_model=AdaptersResponse,
    summary="The LoRA adapters a request may name, and the default",
    description="Each adapter the service loaded, with its source, version and training summary, and which one is the default (merged into the served weights).",
    responses=error_responses(ErrorType.NOT_READY),
)
def adapters(engine: ReadyEngine) -> AdaptersResponse:
    return AdaptersResponse(model=engine.source, default=engine.adapter, adapters=engine.adapters())
