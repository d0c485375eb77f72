"""Checks of a generation request that depend on this deployment's settings, shared by the
synchronous route, the job route (at submission, so bad input is a 4xx, not a failed job) and the
worker."""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

from services.common.contracts.generation import GenerateRequest
from services.common.errors import ErrorType, ServiceError
from services.common.images import decode_image
from services.generation.config import GenerationSettings


@dataclass(frozen=True)
class RequestImages:
    init: Image.Image | None
    control: Image.Image | None


def checked_images(body: GenerateRequest, settings: GenerationSettings) -> RequestImages:
    """The decoded init and control images, after the limits the contract cannot know."""
    if body.num_images > settings.max_images:
        raise ServiceError(
            ErrorType.VALIDATION,
            f"num_images: at most {settings.max_images} images per request here "
            f"(asked for {body.num_images})",
        )
    if body.control_scale is not None and not settings.controlnet:
        raise ServiceError(
            ErrorType.VALIDATION,
            "control_scale: no ControlNet is configured here (GENERATION_CONTROLNET)",
        )
    limits = settings.image_limits
    init = (
        decode_image(body.init_image, limits=limits, field="init_image")
        if body.init_image is not None
        else None
    )
    control = None
    if body.control_scale is not None:
        control = (
            decode_image(body.control_image, limits=limits, field="control_image")
            if body.control_image is not None
            else init
        )
    return RequestImages(init=init, control=control)
