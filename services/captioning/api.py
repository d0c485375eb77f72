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
from services.common.images import decode_image

router = APIRouter(prefix="/v1", tags=["captioning"])
ReadyEngine = Annotated[Blip2Captioner, Depends(require_ready)]  # 503 not_ready while loading

_IMAGE_ERRORS = (
    ErrorType.PAYLOAD_TOO_LARGE,
    ErrorType.UNSUPPORTED_MEDIA,
    ErrorType.NOT_FOUND,
    ErrorType.OVERLOADED,
    ErrorType.NOT_READY,
)


@router.post(
    "/caption",
    response_model=CaptionResponse,
    summary="Describe one motif image, or a batch of them",
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
    images = [
        decode_image(data, limits=settings.image_limits, field=f"images[{i}]")
        if body.images is not None
        else decode_image(data, limits=settings.image_limits)
        for i, data in enumerate(payloads)
    ]
    engine.registry.resolve(body.adapter)  # an unknown adapter is a 404 before any queueing
    outcomes, adapter = await request.app.state.limiter.run(
        engine.caption_batch, images, body.prompt, body.max_new_tokens, body.adapter
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
    response_model=VqaResponse,
    summary="Answer a question about a motif image",
    responses=error_responses(*_IMAGE_ERRORS),
)
async def vqa(body: VqaRequest, request: Request, engine: ReadyEngine) -> VqaResponse:
    image = decode_image(body.image, limits=request.app.state.settings.image_limits)
    engine.registry.resolve(body.adapter)
    outcome, adapter = await request.app.state.limiter.run(
        engine.answer, image, body.question, body.max_new_tokens, body.adapter
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
    response_model=AdaptersResponse,
    summary="The LoRA adapters a request may name, and the default",
    responses=error_responses(ErrorType.NOT_READY),
)
def adapters(engine: ReadyEngine) -> AdaptersResponse:
    return AdaptersResponse(model=engine.source, default=engine.adapter, adapters=engine.adapters())
