from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.common.settings import BaseServiceSettings
from services.generation.config import DEFAULT_SD


class GatewaySettings(BaseServiceSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore", env_ignore_empty=True)

    port: int = 8000
    retrieval_url: str = "http://127.0.0.1:8001"
    captioning_url: str = "http://127.0.0.1:8002"
    generation_url: str = "http://127.0.0.1:8003"
    connect_timeout_s: float = Field(2.0, gt=0)
    retrieval_timeout_s: float = Field(15.0, gt=0)
    captioning_timeout_s: float = Field(60.0, gt=0)
    generation_timeout_s: float = Field(300.0, gt=0, description="SD on a CPU takes minutes")
    retries: int = Field(2, ge=0, le=5, description="Retries of idempotent upstream calls")
    redis_url: str | None = Field(None, description="redis://host:port/db; unset: in-process LRU")
    cache_ttl_s: int = Field(86_400, ge=1)
    cache_max_entries: int = Field(256, ge=1, description="In-process cache size")
    version_ttl_s: float = Field(30.0, ge=0, description="How long upstream versions are reused")
    tokenizer: str = Field(DEFAULT_SD, description="SD tokenizer for prompt fusion (77 tokens)")
    tokenizer_subfolder: str | None = "tokenizer"
    generation_size: int = Field(512, ge=64, le=1024, multiple_of=8)
    caption_prompt: str | None = Field(None, description="Prompt the caption continues")
    max_facts: int = Field(3, ge=0, le=10, description="Metadata sentences offered to fusion")
    max_inflight: int = 32
