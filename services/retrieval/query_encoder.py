"""Queries to vectors: CLIP for images, CLIP or an aligned multilingual tower for texts, each behind a
micro-batcher so that concurrent requests share model calls."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
from PIL import Image

from services.common.contracts.retrieval import EmbedResponse
from services.common.errors import InvalidInputError
from services.retrieval.batching import MicroBatcher
from services.retrieval.encoder import ClipEncoder


class TextEncoder(Protocol):
    source: str
    version: str
    dim: int
    batch_size: int

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray: ...


class QueryEncoder:
    def __init__(
        self,
        clip: ClipEncoder,
        *,
        text_encoder: TextEncoder | None = None,
        batch_wait_ms: float = 2.0,
    ) -> None:
        if text_encoder is not None and text_encoder.dim != clip.dim:
            raise ValueError(
                f"the text model {text_encoder.source} gives {text_encoder.dim}-dimensional "
                f"vectors but {clip.source} gives {clip.dim}: a multilingual text tower "
                "must be aligned to the CLIP model that built the index"
            )
        self.clip = clip
        # Texts: the multilingual tower when there is one; images: always CLIP's image tower.
        self.text_encoder: TextEncoder = text_encoder or clip
        self.text_batcher: MicroBatcher[str] = MicroBatcher(
            self.text_encoder.embed_texts,
            max_batch=self.text_encoder.batch_size,
            max_wait_s=batch_wait_ms / 1000,
            name="embed-texts",
        )
        self.image_batcher: MicroBatcher[Image.Image] = MicroBatcher(
            clip.embed_images,
            max_batch=clip.batch_size,
            max_wait_s=batch_wait_ms / 1000,
            name="embed-images",
        )

    @classmethod
    def load(
        cls,
        model: str,
        *,
        device: str,
        dtype: str,
        batch_size: int,
        batch_wait_ms: float = 2.0,
        text_model: str | None = None,
        model_revision: str | None = None,
        text_model_revision: str | None = None,
    ) -> QueryEncoder:
        clip = ClipEncoder(
            model, device=device, dtype=dtype, batch_size=batch_size, revision=model_revision
        )
        text_encoder = None
        if text_model:
            from services.retrieval.multilingual import MultilingualTextEncoder

            text_encoder = MultilingualTextEncoder(
                text_model,
                device=device,
                dtype=dtype,
                batch_size=batch_size,
                revision=text_model_revision,
            )
        return cls(clip, text_encoder=text_encoder, batch_wait_ms=batch_wait_ms)

    @property
    def versions(self) -> list[str]:
        """CLIP's version, then the multilingual tower's when there is one."""
        if self.text_encoder is self.clip:
            return [self.clip.version]
        return [self.clip.version, self.text_encoder.version]

    def embed(self, texts: list[str], images: list[Image.Image]) -> EmbedResponse:
        # Both kinds are queued before waiting on either, so their batches run side by side.
        text_futures = self.text_batcher.submit(texts)
        image_futures = self.image_batcher.submit(images)
        return EmbedResponse(
            model=self.clip.source,
            model_version=self.clip.version,
            dim=self.clip.dim,
            texts=[f.result().tolist() for f in text_futures],
            images=[f.result().tolist() for f in image_futures],
            text_model=self.text_encoder.source,
        )

    def vector(
        self, text: str | None, image: Image.Image | None, text_weight: float = 0.5
    ) -> np.ndarray:
        """Unit vector for the query; with both inputs, the normalised weighted sum."""
        if text is None and image is None:
            raise InvalidInputError("a query needs text, an image or both")
        if not 0.0 <= text_weight <= 1.0:
            raise InvalidInputError(f"text_weight must be in [0, 1], got {text_weight}")
        text_future = self.text_batcher.submit([text])[0] if text is not None else None
        image_future = self.image_batcher.submit([image])[0] if image is not None else None
        if image_future is None:
            assert text_future is not None
            return text_future.result()
        if text_future is None:
            return image_future.result()
        vector = text_weight * text_future.result() + (1.0 - text_weight) * image_future.result()
        norm = float(np.linalg.norm(vector))
        if norm < 1e-6:  # text and image embeddings exactly opposite at this weight
            raise InvalidInputError("text and image cancel out at this text_weight; change it")
        return (vector / norm).astype(np.float32)

    def close(self) -> None:
        self.text_batcher.close()
        self.image_batcher.close()
