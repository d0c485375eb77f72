from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from services.common.contracts.generation import GenerateRequest, GenerateResponse
from services.common.errors import ErrorType, error_responses
from services.common.health import require_ready
from services.common.images import decode_image, png_base64
from services.generation.generator import SdGenerator

router = APIRouter(prefix="/v1", tags=["generation"])


@router.post(
    "/generate",
    response_model=GenerateResponse,
    summary="Stable Diffusion img2img (with init_image) or txt2img",
    responses=error_responses(
        ErrorType.PAYLOAD_TOO_LARGE,
        ErrorType.UNSUPPORTED_MEDIA,
        ErrorType.OVERLOADED,
        ErrorType.NOT_READY,
    ),
)
async def generate(
    body: GenerateRequest, request: Request, engine: SdGenerator = Depends(require_ready)
) -> GenerateResponse:
    limits = request.app.state.settings.image_limits
    init = (
        decode_image(body.init_image, limits=limits, field="init_image")
        if body.init_image
        else None
    )
    result = await request.app.state.limiter.run(engine.generate, body, init)
    return GenerateResponse(
        images=[png_base64(image) for image in result.images],
        seed=result.seed,
        mode=result.mode,
        prompt_tokens=result.prompt_tokens,
        truncated=result.truncated,
        model=engine.source,
    )
