"""One batched BLIP-2 `generate` call, shared by the service and the fine-tuning job's evaluation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PIL import Image


@dataclass(frozen=True)
class DecodingOptions:
    repetition_penalty: float = 1.3
    no_repeat_ngram_size: int = 3
    retry_temperature: float = 0.8
    retry_top_p: float = 0.9


def stop_token_ids(model: Any) -> list[int]:
    """The ids `generate` stops on: the language model's generation config, which BLIP-2's
    `generate` hands the decoding to (50118, the newline, for the real opt-2.7b; not `</s>`)."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    language_model = getattr(base, "language_model", base)
    eos = language_model.generation_config.eos_token_id
    if eos is None:
        eos = base.config.text_config.eos_token_id
    return [eos] if isinstance(eos, int) else list(eos)


def generate_texts(
    model: Any,
    processor: Any,
    images: list[Image.Image],
    prompt: str | None,
    *,
    max_new_tokens: int,
    options: DecodingOptions,
    sample: bool = False,
) -> list[str]:
    """Decoded continuations (prompt tokens removed) for a batch sharing one prompt.

    Call under `torch.inference_mode()`. One prompt for the whole batch means every row has the same
    length, so no padding side matters for this decoder-only language model.
    """
    import torch

    inputs = processor(images=images, text=[prompt or ""] * len(images), return_tensors="pt")
    inputs = inputs.to(model.device)
    inputs["pixel_values"] = inputs["pixel_values"].to(model.dtype)
    sampling: dict[str, Any] = (
        {"do_sample": True, "temperature": options.retry_temperature, "top_p": options.retry_top_p}
        if sample
        else {"do_sample": False}
    )
    output = model.generate(
        **inputs,
        max_new_tokens=max_new_tokens,
        repetition_penalty=options.repetition_penalty,
        no_repeat_ngram_size=options.no_repeat_ngram_size,
        **sampling,
    )
    prompt_ids = inputs["input_ids"]
    length = prompt_ids.shape[1]
    # generate() returns the prompt tokens first: keep only what the model wrote.
    if output.shape[1] >= length and torch.equal(output[:, :length], prompt_ids):
        output = output[:, length:]
    return processor.tokenizer.batch_decode(output, skip_special_tokens=True)
