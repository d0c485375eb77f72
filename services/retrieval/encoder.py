"""CLIP ViT-B/32: images and texts into one L2-normalised embedding space."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image

from services.common.models import resolve_device, resolve_dtype, resolve_source, source_version

CLIP_MAX_TOKENS = 77


class ClipEncoder:
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
        from transformers import CLIPImageProcessorPil, CLIPModel, CLIPTokenizer

        self.source = source
        self.version = source_version(source, revision)
        self.device = resolve_device(device)
        self.dtype = resolve_dtype(self.device, dtype)
        self.batch_size = batch_size
        local = resolve_source(source)
        model = CLIPModel.from_pretrained(local, dtype=self.dtype, revision=revision)
        self.model = model.to(self.device).eval()
        self.tokenizer = CLIPTokenizer.from_pretrained(local, revision=revision)
        # The Pil processor: the default one needs torchvision, which the CPU build lacks.
        self.image_processor = CLIPImageProcessorPil.from_pretrained(local, revision=revision)
        self.dim = int(self.model.config.projection_dim)
        self._torch = torch

    def _normalise(self, features) -> np.ndarray:
        vectors = features.float().cpu().numpy()
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)

    def embed_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        if not images:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = []
        with self._torch.inference_mode():
            for start in range(0, len(images), self.batch_size):
                batch = [im.convert("RGB") for im in images[start : start + self.batch_size]]
                pixels = self.image_processor(images=batch, return_tensors="pt")["pixel_values"]
                features = self.model.get_image_features(
                    pixel_values=pixels.to(self.device, self.dtype)
                ).pooler_output
                out.append(self._normalise(features))
        return np.concatenate(out)

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = []
        with self._torch.inference_mode():
            for start in range(0, len(texts), self.batch_size):
                tokens = self.tokenizer(
                    list(texts[start : start + self.batch_size]),
                    padding=True,
                    truncation=True,
                    max_length=CLIP_MAX_TOKENS,
                    return_tensors="pt",
                ).to(self.device)
                out.append(self._normalise(self.model.get_text_features(**tokens).pooler_output))
        return np.concatenate(out)
