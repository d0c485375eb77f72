"""Search: query text and/or image -> CLIP vector -> FAISS neighbours with their motif metadata."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from services.common.contracts.retrieval import Hit, IndexInfo, Motif, SearchResponse
from services.retrieval.encoder import ClipEncoder
from services.retrieval.index import MotifIndex


class RetrievalEngine:
    def __init__(self, encoder: ClipEncoder, index: MotifIndex) -> None:
        index.check_model(encoder.version, encoder.dim)
        self.encoder = encoder
        self.index = index

    @classmethod
    def load(cls, model: str, index_dir: str, *, device: str, dtype: str, batch_size: int):
        # The index is read first: a missing index fails in milliseconds, not after a model load.
        index = MotifIndex(Path(index_dir))
        encoder = ClipEncoder(model, device=device, dtype=dtype, batch_size=batch_size)
        return cls(encoder, index)

    def query_vector(
        self, text: str | None, image: Image.Image | None, text_weight: float = 0.5
    ) -> np.ndarray:
        """Unit vector for the query; with both inputs, the normalised weighted sum."""
        parts = []
        if text is not None:
            parts.append(
                (text_weight if image is not None else 1.0, self.encoder.embed_texts([text]))
            )
        if image is not None:
            weight = 1.0 - text_weight if text is not None else 1.0
            parts.append((weight, self.encoder.embed_images([image])))
        if not parts:
            raise ValueError("a query needs text, an image or both")
        vector = sum(w * v[0] for w, v in parts)
        norm = float(np.linalg.norm(vector))
        if norm == 0.0:
            raise ValueError("text_weight leaves an empty query vector")
        return (vector / norm).astype(np.float32)

    def search(
        self,
        text: str | None = None,
        image: Image.Image | None = None,
        top_k: int = 5,
        text_weight: float = 0.5,
    ) -> SearchResponse:
        vector = self.query_vector(text, image, text_weight)
        hits = []
        for row, score in self.index.search(vector, top_k):
            item = self.index.items[row]
            motif = self.index.motifs[item.number]
            hits.append(
                Hit(
                    id=item.id,
                    score=score,
                    motif=Motif(**motif),
                    file=item.file,
                    instance=item.instance,
                    rotation=item.rotation,
                )
            )
        return SearchResponse(hits=hits, index=self.info())

    def info(self) -> IndexInfo:
        return IndexInfo(
            version=self.index.version, size=self.index.size, model=self.encoder.source
        )

    def describe(self) -> dict:
        return {
            "model": self.encoder.source,
            "model_version": self.encoder.version,
            "index_version": self.index.version,
            "index_size": self.index.size,
            "device": self.encoder.device,
        }
