from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.common.settings import BaseServiceSettings

DEFAULT_SD = "stable-diffusion-v1-5/stable-diffusion-v1-5"


class GenerationSettings(BaseServiceSettings):
    model_config = SettingsConfigDict(
        env_prefix="GENERATION_", extra="ignore", env_ignore_empty=True
    )

    model: str = Field(DEFAULT_SD, description="Stable Diffusion 1.5: hub id or local directory")
    variant: str | None = Field(
        None, description="Weights variant to download, e.g. fp16 (half the download on GPU)"
    )
    max_inflight: int = Field(
        2, ge=1, description="Generations running or queued; one runs at a time per pipeline"
    )
