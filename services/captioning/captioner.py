"""BLIP-2 (OPT) captions and answers, with LoRA adapters: the default merged, others per request."""

from __future__ import annotations

import threading
from typing import Any

from PIL import Image

from services.captioning.adapters import AdapterEntry, AdapterRegistry
from services.captioning.decoding import DecodingOptions, generate_texts
from services.captioning.hygiene import Outcome, degenerate_reason, guard, strip_prompt_echo
from services.captioning.lora import LoraSwitcher
from services.common.models import resolve_device, resolve_dtype, resolve_source, source_version

__all__ = ["Blip2Captioner", "strip_prompt_echo"]


def vqa_prompt(question: str) -> str:
    """BLIP-2 OPT's question-answering format."""
    return f"Question: {question.strip()} Answer:"


class Blip2Captioner:
    def __init__(
        self,
        source: str,
        *,
        adapter: str | None = None,
        adapters_dir: str | None = None,
        device: str = "auto",
        dtype: str = "auto",
        decoding: DecodingOptions | None = None,
        min_caption_words: int = 3,
        min_answer_words: int = 1,
        max_batch: int = 8,
        revision: str | None = None,
        adapter_revision: str | None = None,
    ) -> None:
        import torch
        from transformers import (
            AutoTokenizer,
            Blip2ForConditionalGeneration,
            Blip2Processor,
            BlipImageProcessorPil,
        )

        self.source = source
        self.device = resolve_device(device)
        self.dtype = resolve_dtype(self.device, dtype)
        self.decoding = decoding or DecodingOptions()
        self.min_caption_words = min_caption_words
        self.min_answer_words = min_answer_words
        self.max_batch = max_batch
        local = resolve_source(source)
        model = Blip2ForConditionalGeneration.from_pretrained(
            local, dtype=self.dtype, revision=revision
        )
        self.model = model.to(self.device).eval()
        tokenizer = AutoTokenizer.from_pretrained(local, revision=revision)
        # Without num_query_tokens the processor adds no image tokens and the model ignores the image.
        self.processor = Blip2Processor(
            image_processor=BlipImageProcessorPil.from_pretrained(local, revision=revision),
            tokenizer=tokenizer,
            num_query_tokens=self.model.config.num_query_tokens,
        )
        self.registry = AdapterRegistry(adapters_dir, adapter, adapter_revision)
        self.lora = LoraSwitcher(self.model)
        if self.registry.default is not None:
            self.lora.merge(self.registry.default)
        default = self.registry.default
        self.adapter = default.name if default else None
        self.version = source_version(source, revision) + (
            f"+{source_version(default.source, default.revision)}" if default else ""
        )
        self._lock = threading.Lock()
        self._torch = torch

    # -- work -------------------------------------------------------------------------------

    def _run(
        self,
        entry: AdapterEntry | None,
        images: list[Image.Image],
        prompt: str | None,
        max_new_tokens: int,
        min_words: int,
    ) -> list[Outcome]:
        def decode(batch: list[Image.Image], sample: bool) -> list[str]:
            texts = generate_texts(
                self.model,
                self.processor,
                batch,
                prompt,
                max_new_tokens=max_new_tokens,
                options=self.decoding,
                sample=sample,
            )
            return [strip_prompt_echo(t, prompt) for t in texts]

        with self._lock:
            self.lora.use(entry, self.registry.default)
            with self._torch.inference_mode():
                return guard(
                    decode(images, sample=False),
                    retry=lambda failed: decode([images[i] for i in failed], sample=True),
                    check=lambda text: degenerate_reason(text, prompt, min_words),
                )

    def caption_batch(
        self,
        images: list[Image.Image],
        prompt: str | None = None,
        max_new_tokens: int = 40,
        adapter: str | None = None,
    ) -> tuple[list[Outcome], str | None]:
        """Captions of `images` in one batched call, and the adapter that made them."""
        if not images:
            raise ValueError("no images to caption")
        if len(images) > self.max_batch:
            raise ValueError(f"{len(images)} images; at most {self.max_batch} per request")
        entry = self.registry.resolve(adapter)
        outcomes = self._run(entry, images, prompt, max_new_tokens, self.min_caption_words)
        return outcomes, entry.name if entry else None

    def answer(
        self,
        image: Image.Image,
        question: str,
        max_new_tokens: int = 20,
        adapter: str | None = None,
    ) -> tuple[Outcome, str | None]:
        if not question.strip():
            raise ValueError("question is empty")
        entry = self.registry.resolve(adapter)
        [outcome] = self._run(
            entry, [image], vqa_prompt(question), max_new_tokens, self.min_answer_words
        )
        return outcome, entry.name if entry else None

    def caption(
        self, image: Image.Image, prompt: str | None = None, max_new_tokens: int = 40
    ) -> str:
        """One caption with the default adapter; empty when the output was degenerate."""
        [outcome], _ = self.caption_batch([image], prompt, max_new_tokens)
        return outcome.text

    # -- introspection ----------------------------------------------------------------------

    def adapters(self) -> list[dict[str, Any]]:
        return [
            {**self.registry.describe(entry), "merged": entry.name == self.lora.merged}
            for entry in self.registry.entries()
        ]

    def describe(self) -> dict:
        return {
            "model": self.source,
            "adapter": self.adapter,
            "model_version": self.version,
            "device": self.device,
        }
