"""Retrieval service: CLIP ViT-B/32 embeddings + a FAISS index of Batik Nitik motifs (port 8001)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI

from services.common.app import create_service_app
from services.common.models import configure_torch
from services.retrieval.api import router
from services.retrieval.config import RetrievalSettings
from services.retrieval.engine import RetrievalEngine
from services.retrieval.index_api import router as index_router
from services.retrieval.searcher import Ranking


def default_loader(settings: RetrievalSettings) -> RetrievalEngine:
    configure_torch(settings.torch_threads, settings.cuda_memory_fraction)
    return RetrievalEngine.load(
        settings.model,
        settings.index_dir,
        index_root=settings.index_root,
        device=settings.device,
        dtype=settings.dtype,
        batch_size=settings.batch_size,
        batch_wait_ms=settings.batch_wait_ms,
        text_model=settings.text_model,
        model_revision=settings.model_revision,
        text_model_revision=settings.text_model_revision,
        ranking=Ranking(
            lexical_weight=settings.lexical_weight,
            lexical_min_ratio=settings.lexical_min_ratio,
            k_lexical=settings.rrf_k_lexical,
            k_visual=settings.rrf_k_visual,
            detect_language=settings.detect_language,
        ),
    )


def create_app(
    settings: RetrievalSettings | None = None,
    loader: Callable[[RetrievalSettings], RetrievalEngine] | None = None,
) -> FastAPI:
    settings = settings or RetrievalSettings()
    load = loader or default_loader
    return create_service_app(
        operation_prefix="retrieval",
        name="retrieval",
        title="Batik Nitik retrieval",
        description="Text-to-image, image-to-image and hybrid search over Batik Nitik motifs with "
        "CLIP ViT-B/32 and FAISS (flat, HNSW or IVF-PQ). Scores are cosine similarities. Also: "
        "CLIP embeddings for other teams, and an index that swaps without a restart.",
        settings=settings,
        load=lambda: load(settings),
        routers=[router, index_router],
    )


app = create_app()
