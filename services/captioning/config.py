from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.common.settings import BaseServiceSettings

DEFAULT_BLIP2 = "Salesforce/blip2-opt-2.7b"


class CaptioningSettings(BaseServiceSettings):
    model_config = SettingsConfigDict(
        env_prefix="CAPTIONING_", extra="ignore", env_ignore_empty=True
    )

    model: str = Field(DEFAULT_BLIP2, description="BLIP-2 model: hub id or local directory")
    adapter: str | None = Field(
        None, description="LoRA adapter from `batik finetune` (directory or hub id); merged on load"
    )
    max_inflight: int = Field(
        4, ge=1, description="Requests running or waiting; past it the service answers 429"
    )
