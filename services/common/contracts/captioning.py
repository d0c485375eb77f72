"""Captioning service wire contract."""

from __future__ import annotations

from pydantic import BaseModel, Field

from services.common.contracts.common import Base64Image


class CaptionRequest(BaseModel):
    image: Base64Image
    prompt: str | None = Field(
        None,
        max_length=500,
        description="Optional text the caption continues, e.g. `a batik motif of`. "
        "It is never echoed in the answer.",
    )
    max_new_tokens: int = Field(40, ge=1, le=128)


class CaptionResponse(BaseModel):
    caption: str
    model: str
    adapter: str | None = Field(None, description="The LoRA adapter merged into the model.")
