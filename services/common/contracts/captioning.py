"""Captioning service wire contract.

`POST /v1/caption` takes one `image` (the gateway's call) or a batch of `images`; every answer lists one
item per input in `captions`, and a single-image answer also mirrors its item in `caption`. An output that
is empty, too short or a repetition of the prompt is retried once with sampling; if it is still
degenerate it comes back as `degenerate: true` with an empty `caption`, never passed off as a caption.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints, model_validator

from services.common.contracts.common import Base64Image, present

# Requests name the base model, without any adapter, with this.
BASE_ADAPTER = "none"
# The contract's ceiling; each service also enforces its own, lower CAPTIONING_MAX_BATCH.
MAX_BATCH_CEILING = 64

AdapterName = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$"),
    Field(
        description="An adapter listed by `GET /v1/adapters`, or `none` for the base model; "
        "unset: the service's default adapter."
    ),
]


class CaptionRequest(BaseModel):
    image: Base64Image | None = Field(None, description="One image; or send `images`.")
    images: list[Base64Image] | None = Field(
        None,
        min_length=1,
        max_length=MAX_BATCH_CEILING,
        description="A batch of images captioned together, up to the service's "
        "`CAPTIONING_MAX_BATCH`.",
    )
    prompt: str | None = Field(
        None,
        max_length=500,
        description="Optional text the caption continues, e.g. `a batik motif of`. "
        "It is never echoed in the answer.",
    )
    max_new_tokens: int = Field(40, ge=1, le=128)
    adapter: AdapterName | None = None

    # The rule below in JSON Schema too, for generators and schema-driven tests.
    model_config = {
        "json_schema_extra": {"allOf": [{"oneOf": [present("image"), present("images")]}]}
    }

    @model_validator(mode="after")
    def _one_kind_of_input(self) -> CaptionRequest:
        if (self.image is None) == (self.images is None):
            raise ValueError("send exactly one of `image` and `images`")
        return self

    def all_images(self) -> list[str]:
        return [self.image] if self.image is not None else list(self.images or [])


class CaptionItem(BaseModel):
    caption: str = Field(description="The caption; empty when the output was degenerate.")
    degenerate: bool = Field(
        False, description="True when even the sampled retry gave no usable caption."
    )
    reason: str | None = Field(None, description="Why the output was judged degenerate.")
    attempts: int = Field(1, description="1, or 2 when the first output was retried.")


class CaptionResponse(BaseModel):
    caption: str | None = Field(
        None,
        description="The caption of `image` (empty when degenerate); null for a batch request.",
    )
    degenerate: bool = False
    captions: list[CaptionItem] = Field(
        default_factory=list, description="One item per input image, in order."
    )
    model: str
    adapter: str | None = Field(None, description="The LoRA adapter used; null: the base model.")


class VqaRequest(BaseModel):
    image: Base64Image
    question: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
    max_new_tokens: int = Field(20, ge=1, le=128)
    adapter: AdapterName | None = None


class VqaResponse(BaseModel):
    answer: str = Field(description="The answer; empty when the output was degenerate.")
    degenerate: bool = False
    reason: str | None = None
    attempts: int = 1
    model: str
    adapter: str | None = None


class AdapterInfo(BaseModel):
    name: str
    default: bool = Field(description="Used when a request names no adapter.")
    merged: bool = Field(description="Merged into the served weights (the default adapter).")
    source: str = Field(description="Directory or hub id it loads from.")
    version: str
    base_model: str | None = Field(None, description="The base model it was trained on.")
    r: int | None = None
    target_modules: list[str] | None = None
    training: dict[str, Any] | None = Field(
        None, description="Summary of its `training.json` (validation metrics), when present."
    )


class AdaptersResponse(BaseModel):
    model: str
    default: str | None
    adapters: list[AdapterInfo]
