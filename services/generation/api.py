from __future__ import annotations

import threading
from typing import Annotated

from fastapi import APIRouter, Depends, Request

from services.common.contracts.generation import GenerateRequest, GenerateResponse
from services.common.disconnect import stop_when, watch_disconnect
from services.common.errors import ErrorType, error_responses
from services.common.health import require_ready
from services.common.images import png_base64
from services.generation.config import GenerationSettings
from services.generation.generator import SdGenerator
from services.generation.inputs import checked_images

router = APIRouter(prefix="/v1", tags=["generation"])
ReadyEngine = Annotated[SdGenerator, Depends(require_ready)]  # 503 not_ready while loading


def _generate(
    engine: SdGenerator, body: GenerateRequest, settings: GenerationSettings, gone: threading.Event
):
    progress = stop_when(gone)
    progress(0, body.steps)  # hung up while queued: the run never starts
    # Decoding runs here, in the worker thread: a large upload must not stall the event loop.
    images = checked_images(body, settings)
    return engine.generate(body, images.init, progress, control_image=images.control)


@router.post(
    "/generate",
    operation_id="generate",
    response_model=GenerateResponse,
    summary="Stable Diffusion img2img (with init_image) or txt2img, answered when done",
    description="Waits in a bounded queue (429 with Retry-After when full); one pipeline call runs "
    "at a time. A client that closes the connection stops its run within one denoising step "
    "(answered 499, for the log). For long runs use POST /v1/jobs.",
    responses=error_responses(
        ErrorType.PAYLOAD_TOO_LARGE,
        ErrorType.UNSUPPORTED_MEDIA,
        ErrorType.OVERLOADED,
        ErrorType.NOT_READY,
        ErrorType.OUT_OF_MEMORY,
        ErrorType.NOT_FOUND,
    ),
)
async def generate(
    body: GenerateRequest, request: Request, engine: ReadyEngine
) -> GenerateResponse:
    engine.styles.resolve(body)  # an unknown style is a 404 now, not after the queue
    async with watch_disconnect(request) as gone:
        result = await request.app.state.limiter.run(
            _generate, engine, body, request.app.state.settings, gone
        )
    return GenerateResponse(
        **result.summary(engine.source).model_dump(),
        images=[png_base64(image) for image in result.images],
    )
