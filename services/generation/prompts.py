"""Prompts longer than CLIP's 77-token window, encoded in chunks (as A1111 and Compel do).

The prompt's tokens are split into windows of 75, each framed by BOS/EOS and padded to 77, encoded by
the text encoder on its own, and the embeddings concatenated along the sequence: the UNet's
cross-attention takes any length, so every word acts. The negative prompt is encoded into as many
windows, so both halves of classifier-free guidance have the same shape. Past `max_chunks` windows
the end of the prompt is cut, and the answer says so (`truncated`).

Prompts that fit one window are left to the pipeline's own encoding: the same bytes as before.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PromptEncoding:
    tokens: int  # the prompt's tokens with BOS and EOS, as the SD tokenizer counts them
    chunks: int  # windows used; 1 = the pipeline encodes the text itself
    truncated: bool
    prompt_embeds: Any = None  # set when chunks > 1
    negative_embeds: Any = None


def encode_prompt(
    tokenizer: Any,
    text_encoder: Any,
    prompt: str,
    negative_prompt: str | None,
    *,
    max_chunks: int,
    device: str,
) -> PromptEncoding:
    window = tokenizer.model_max_length  # 77 for SD 1.5
    body = window - 2  # room between BOS and EOS
    ids = _ids(tokenizer, prompt)
    tokens = len(ids) + 2
    if tokens <= window or max_chunks <= 1:
        return PromptEncoding(tokens=tokens, chunks=1, truncated=tokens > window)
    negative_ids = _ids(tokenizer, negative_prompt or "")
    chunks = min(max_chunks, max(math.ceil(len(ids) / body), math.ceil(len(negative_ids) / body)))
    truncated = len(ids) > chunks * body
    return PromptEncoding(
        tokens=tokens,
        chunks=chunks,
        truncated=truncated,
        prompt_embeds=_encode(tokenizer, text_encoder, ids, chunks, device),
        negative_embeds=_encode(tokenizer, text_encoder, negative_ids, chunks, device),
    )


def _ids(tokenizer: Any, text: str) -> list[int]:
    return tokenizer(text, truncation=False, add_special_tokens=False)["input_ids"]


def _encode(tokenizer: Any, text_encoder: Any, ids: list[int], chunks: int, device: str) -> Any:
    import torch

    window = tokenizer.model_max_length
    body = window - 2
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    rows = []
    for k in range(chunks):
        part = ids[k * body : (k + 1) * body]
        row = [tokenizer.bos_token_id, *part, tokenizer.eos_token_id]
        rows.append(row + [pad] * (window - len(row)))
    input_ids = torch.tensor(rows, device=device)
    with torch.inference_mode():
        hidden = text_encoder(input_ids)[0]  # (chunks, 77, hidden)
    return hidden.reshape(1, chunks * window, hidden.shape[-1])
