"""Generation service: Stable Diffusion 1.5 img2img / txt2img (port 8003)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI

from services.common.app import create_service_app
from services.common.models import configure_torch
from services.generation.api import router
from services.generation.config import GenerationSettings
from services.generation.generator import SdGenerator


def default_loader(settings: GenerationSettings) -> SdGenerator:
    configure_torch(settings.torch_threads)
    return SdGenerator(
        settings.model, device=settings.device, dtype=settings.dtype, variant=settings.variant
    )


def create_app(
    settings: GenerationSettings | None = None,
    loader: Callable[[GenerationSettings], SdGenerator] | None = None,
) -> FastAPI:
    settings = settings or GenerationSettings()
    load = loader or default_loader
    return create_service_app(
        name="generation",
        title="Batik Nitik generation",
        description="Stable Diffusion 1.5 img2img from a retrieved reference motif, or txt2img.",
        settings=settings,
        load=lambda: load(settings),
        describe=lambda engine: engine.describe(),
        routers=[router],
    )


app = create_app()
