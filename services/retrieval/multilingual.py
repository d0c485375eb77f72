"""An optional multilingual text tower aligned to CLIP ViT-B/32's image space.

`sentence-transformers/clip-ViT-B-32-multilingual-v1` is a multilingual DistilBERT, mean pooling and
a linear layer (768 -> 512) trained by distillation so that its text vectors land where CLIP's English
text tower puts the same sentence, in 50+ languages. Text queries go through it; images keep CLIP's
image tower, so the index built with CLIP is unchanged. Any sentence-transformers directory whose
output dimension equals CLIP's works the same way (the tiny random one of `build_tiny_multilingual`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from services.common.models import resolve_device, resolve_dtype, resolve_source, source_version

DEFAULT_MULTILINGUAL = "sentence-transformers/clip-ViT-B-32-multilingual-v1"


class MultilingualTextEncoder:
    """Texts -> L2-normalised vectors in CLIP's space, through a sentence-transformers model."""

    def __init__(
        self,
        source: str,
        *,
        device: str = "auto",
        dtype: str = "auto",
        batch_size: int = 32,
        revision: str | None = None,
    ) -> None:
        import torch
        from sentence_transformers import SentenceTransformer

        self.source = source
        self.version = source_version(source, revision)
        self.device = resolve_device(device)
        self.dtype = resolve_dtype(self.device, dtype)
        self.batch_size = batch_size
        self.model = SentenceTransformer(
            resolve_source(source), device=self.device, revision=revision
        ).eval()
        if self.dtype != torch.float32:
            self.model = self.model.to(self.dtype)
        # sentence-transformers 6 renamed get_sentence_embedding_dimension
        dimension = (
            getattr(self.model, "get_embedding_dimension", None)
            or self.model.get_sentence_embedding_dimension
        )
        self.dim = int(dimension())
        self._torch = torch

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._torch.inference_mode():
            vectors = self.model.encode(
                list(texts),
                batch_size=self.batch_size,
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dim)
