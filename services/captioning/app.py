"""Captioning service: BLIP-2 (opt-2.7b) with an optional merged LoRA adapter (port 8002)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI

from services.captioning.api import router
from services.captioning.captioner import Blip2Captioner
from services.captioning.config import CaptioningSettings
from services.captioning.decoding import DecodingOptions
from services.common.app import create_service_app
from services.common.models import configure_torch


def default_loader(settings: CaptioningSettings) -> Blip2Captioner:
    configure_torch(settings.torch_threads, settings.cuda_memory_fraction)
    return Blip2Captioner(
        settings.model,
        adapter=settings.adapter,
        adapters_dir=settings.adapters_dir,
        device=settings.device,
        dtype=settings.dtype,
        decoding=DecodingOptions(
            repetition_penalty=settings.repetition_penalty,
            no_repeat_ngram_size=settings.no_repeat_ngram_size,
            retry_temperature=settings.retry_temperature,
        ),
        min_caption_words=settings.min_caption_words,
        min_answer_words=settings.min_answer_words,
        max_batch=settings.max_batch,
        revision=settings.model_revision,
        adapter_revision=settings.adapter_revision,
    )


def create_app(
    settings: CaptioningSettings | None = None,
    loader: Callable[[CaptioningSettings], Blip2Captioner] | None = None,
) -> FastAPI:
    settings = settings or CaptioningSettings()
    load = loader or default_loader
    return create_service_app(
        operation_prefix="captioning",
        name="captioning",
        title="Batik Nitik captioning",
        description="BLIP-2 captions of and answers about Batik Nitik motifs, with the project's LoRA "
        "adapters (the default merged into the served weights).",
        settings=settings,
        load=lambda: load(settings),
        routers=[router],
        images_per_request=settings.max_batch,
    )


app = create_app()
