"""Settings every service shares. Each service subclasses this with its own env prefix."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, PrivateAttr
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.common.concurrency import PixelBudget
from services.common.images import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_PIXELS,
    HARD_MAX_PIXELS,
    ImageLimits,
)

# A model service's budget on a shared GPU (torch.cuda.set_per_process_memory_fraction); declared by
# the three model services, not the gateway or the library, which hold no model.
CudaMemoryFraction = Annotated[
    float | None,
    Field(
        gt=0,
        le=1,
        description="Share of the GPU's memory this service's allocator may take (several services "
        "on one GPU); unset: no limit",
    ),
]


class BaseServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", env_ignore_empty=True)

    log_level: str = Field("INFO", description="Log level")
    log_format: Literal["text", "json"] = Field(
        "text", description="text: one readable line per record; json: one JSON object per line"
    )
    device: Literal["auto", "cpu", "cuda"] = Field(
        "auto", description="auto picks CUDA when available"
    )
    dtype: Literal["auto", "float32", "float16", "bfloat16"] = Field(
        "auto", description="auto: float16 on CUDA, float32 on CPU"
    )
    torch_threads: int | None = Field(
        None, ge=1, description="torch intra-op threads on CPU; unset: torch's default"
    )
    max_upload_bytes: int = Field(
        DEFAULT_MAX_BYTES, ge=1024, description="Largest image accepted, in bytes"
    )
    max_image_pixels: int = Field(
        DEFAULT_MAX_PIXELS,
        ge=64 * 64,
        le=HARD_MAX_PIXELS,
        description="Largest image in pixels, checked before decoding (at most Pillow's own "
        "decompression-bomb guard, which stays on)",
    )
    max_inflight: int = Field(
        4, ge=1, description="Requests running or waiting; past it the service answers 429"
    )
    max_request_pixels: int = Field(
        4 * DEFAULT_MAX_PIXELS,
        ge=64 * 64,
        description="Pixels all images of one request may declare together, checked before "
        "decoding (a batch of small PNGs can decode to gigabytes)",
    )
    decode_budget_pixels: int = Field(
        2 * DEFAULT_MAX_PIXELS,
        ge=64 * 64,
        description="Full-size decoded pixels this process holds at once (about 4 bytes each); "
        "uploads wait for room, then 429 with Retry-After",
    )
    decode_wait_s: float = Field(
        5.0, ge=0, description="How long an upload waits for the decode budget before its 429"
    )
    decode_max_side: int = Field(
        1024,
        ge=64,
        description="Longest side an upload keeps after decoding (reduced while decoding: JPEG "
        "draft scale, then reduce); the models take 224-1024 px",
    )
    _decode_budget = PrivateAttr()  # a PixelBudget

    def model_post_init(self, context: object, /) -> None:
        # One budget per settings object, and a service builds one settings object per process.
        self._decode_budget = PixelBudget(self.decode_budget_pixels, self.decode_wait_s)

    @property
    def image_limits(self) -> ImageLimits:
        return ImageLimits(
            max_bytes=self.max_upload_bytes,
            max_pixels=self.max_image_pixels,
            max_request_pixels=self.max_request_pixels,
            max_side=self.decode_max_side,
            budget=self._decode_budget,
        )
