from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from services.captioning.captioner import Blip2Captioner
from services.common.contracts.captioning import CaptionRequest, CaptionResponse
from services.common.errors import ErrorType, error_responses
from services.common.health import require_ready
from services.common.images import decode_image

router = APIRouter(prefix="/v1", tags=["captioning"])


@router.post(
    "/caption",
    response_model=CaptionResponse,
    summary="Describe a motif image",
    responses=error_responses(
        ErrorType.PAYLOAD_TOO_LARGE,
        ErrorType.UNSUPPORTED_MEDIA,
        ErrorType.OVERLOADED,
        ErrorType.NOT_READY,
    ),
)
async def caption(
    body: CaptionRequest, request: Request, engine: Blip2Captioner = Depends(require_ready)
) -> CaptionResponse:
    image = decode_image(body.image, limits=request.app.state.settings.image_limits)
    text = await request.app.state.limiter.run(
        engine.caption, image, body.prompt, body.max_new_tokens
    )
    return CaptionResponse(caption=text, model=engine.source, adapter=engine.adapter)
