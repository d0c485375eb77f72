"""Settings every service shares. Each service subclasses this with its own env prefix."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

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

    @property
    def image_limits(self) -> ImageLimits:
        return ImageLimits(max_bytes=self.max_upload_bytes, max_pixels=self.max_image_pixels)
