from __future__ import annotations

import threading
from typing import Annotated

import numpy as np
from fastapi import APIRouter, Depends, Request
from PIL import Image

from services.common.concurrency import hold_pixels
from services.common.contracts.generation import (
    GenerateRequest,
    GenerateResponse,
    UpscaleRequest,
    UpscaleResponse,
)
from services.common.disconnect import stop_when, watch_disconnect
from services.common.errors import ErrorType, ServiceError, error_responses
from services.common.health import require_ready
from services.common.images import decode_image, png_base64
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


def _upscale(engine: SdGenerator, body: UpscaleRequest, settings: GenerationSettings):
    limits = settings.image_limits
    tile = decode_image(body.image, limits=limits, field="image")
    width, height = body.target_size(tile.width, tile.height)
    if width * height > settings.max_image_pixels:
        raise ServiceError(
            ErrorType.VALIDATION,
            f"{width} x {height} px is over this service's pixel cap of {settings.max_image_pixels} "
            f"pixels (GENERATION_MAX_IMAGE_PIXELS); ask for at most that many",
        )
    # The full-size buffers live until the PNG is encoded: the result, and the upscaler's own
    # output before Lanczos takes it to the exact size.
    factor = engine.upscaler.factor if engine.upscaler else 0
    held = width * height + factor**2 * tile.width * tile.height
    with hold_pixels(limits.budget, held):
        result = engine.upscale(np.asarray(tile), body, width, height)
        image = png_base64(Image.fromarray(result.image))
    return UpscaleResponse(
        image=image,
        width=width,
        height=height,
        repeat=body.repeat,
        method=result.method,
        model=engine.upscaler.source if result.method == "diffusion" else None,
        seed=result.seed,
    )


@router.post(
    "/upscale",
    operation_id="upscale",
    response_model=UpscaleResponse,
    summary="A tile made larger with its repeat as wrap-around context, so its seam holds",
    description="With GENERATION_UPSCALER (a StableDiffusionUpscalePipeline, e.g. the x4 "
    "upscaler): one diffusion pass with every convolution padding from the tile's repeat "
    "neighbours, then Lanczos (with the neighbours) to the exact size. Without one, for `mirror`, "
    "or for a target no larger than the tile: Lanczos with the neighbours. `method` says which ran. "
    "The result is bounded by the pixel cap; a half-drop height (half-brick width) that puts the "
    "half offset between pixels is a 422.",
    responses=error_responses(
        ErrorType.PAYLOAD_TOO_LARGE,
        ErrorType.UNSUPPORTED_MEDIA,
        ErrorType.OVERLOADED,
        ErrorType.NOT_READY,
        ErrorType.OUT_OF_MEMORY,
    ),
)
async def upscale(body: UpscaleRequest, request: Request, engine: ReadyEngine) -> UpscaleResponse:
    return await request.app.state.limiter.run(_upscale, engine, body, request.app.state.settings)
