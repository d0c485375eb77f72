"""BLIP-2 (OPT) captions, optionally with our LoRA adapter merged into the weights for serving."""

from __future__ import annotations

import re
import threading

from PIL import Image

from services.common.models import resolve_device, resolve_dtype, resolve_source, source_version

# BLIP-2 prompts in the "Question: ... Answer:" style sometimes come back in the output.
_QA_ECHO = re.compile(r"^\s*(question:.*?answer:)\s*", re.I | re.S)


def strip_prompt_echo(text: str, prompt: str | None) -> str:
    """The caption without any repetition of the prompt that produced it."""
    cleaned = text.strip()
    if prompt:
        stripped_prompt = prompt.strip()
        if cleaned.lower().startswith(stripped_prompt.lower()):
            cleaned = cleaned[len(stripped_prompt) :]
    cleaned = _QA_ECHO.sub("", cleaned)
    return cleaned.strip(" \n:-")


class Blip2Captioner:
    def __init__(
        self,
        source: str,
        *,
        adapter: str | None = None,
        device: str = "auto",
        dtype: str = "auto",
    ) -> None:
        import torch
        from transformers import (
            AutoTokenizer,
            Blip2ForConditionalGeneration,
            Blip2Processor,
            BlipImageProcessorPil,
        )

        self.source = source
        self.adapter = adapter
        self.device = resolve_device(device)
        self.dtype = resolve_dtype(self.device, dtype)
        local = resolve_source(source)
        model = Blip2ForConditionalGeneration.from_pretrained(local, dtype=self.dtype)
        if adapter:
            # peft imports bitsandbytes (seconds): only pay for it when an adapter is configured.
            from peft import PeftModel

            model = PeftModel.from_pretrained(model, resolve_source(adapter)).merge_and_unload()
        self.model = model.to(self.device).eval()
        tokenizer = AutoTokenizer.from_pretrained(local)
        # Without num_query_tokens the processor adds no image tokens and the model ignores the image.
        self.processor = Blip2Processor(
            image_processor=BlipImageProcessorPil.from_pretrained(local),
            tokenizer=tokenizer,
            num_query_tokens=self.model.config.num_query_tokens,
        )
        self.version = source_version(source) + (f"+{source_version(adapter)}" if adapter else "")
        self._lock = threading.Lock()
        self._torch = torch

    def caption(
        self, image: Image.Image, prompt: str | None = None, max_new_tokens: int = 40
    ) -> str:
        inputs = self.processor(images=image, text=prompt or "", return_tensors="pt").to(
            self.device
        )
        inputs["pixel_values"] = inputs["pixel_values"].to(self.dtype)
        prompt_length = inputs["input_ids"].shape[1]
        with self._lock, self._torch.inference_mode():
            output = self.model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False)
        # generate() returns the prompt tokens first: keep only what the model wrote.
        if output.shape[1] > prompt_length and self._torch.equal(
            output[0, :prompt_length], inputs["input_ids"][0]
        ):
            output = output[:, prompt_length:]
        text = self.processor.tokenizer.decode(output[0], skip_special_tokens=True)
        # Undecodable byte fragments come back as U+FFFD; they carry no meaning in a caption.
        return strip_prompt_echo(text.replace("\ufffd", ""), prompt)

    def describe(self) -> dict:
        return {
            "model": self.source,
            "adapter": self.adapter,
            "model_version": self.version,
            "device": self.device,
        }
