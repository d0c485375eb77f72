"""Captioning service: BLIP-2 (opt-2.7b) with an optional merged LoRA adapter (port 8002)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI

from services.captioning.api import router
from services.captioning.captioner import Blip2Captioner
from services.captioning.config import CaptioningSettings
from services.common.app import create_service_app
from services.common.models import configure_torch


def default_loader(settings: CaptioningSettings) -> Blip2Captioner:
    configure_torch(settings.torch_threads)
    return Blip2Captioner(
        settings.model, adapter=settings.adapter, device=settings.device, dtype=settings.dtype
    )


def create_app(
    settings: CaptioningSettings | None = None,
    loader: Callable[[CaptioningSettings], Blip2Captioner] | None = None,
) -> FastAPI:
    settings = settings or CaptioningSettings()
    load = loader or default_loader
    return create_service_app(
        name="captioning",
        title="Batik Nitik captioning",
        description="BLIP-2 captions of Batik Nitik motifs, with the project's LoRA adapter.",
        settings=settings,
        load=lambda: load(settings),
        describe=lambda engine: engine.describe(),
        routers=[router],
    )


app = create_app()
