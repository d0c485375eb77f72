from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.common.settings import BaseServiceSettings
from services.generation.config import DEFAULT_SD


class GatewaySettings(BaseServiceSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore", env_ignore_empty=True)

    max_inflight: int = Field(
        32, ge=1, description="RAG requests in flight; past it the gateway answers 429"
    )
    retrieval_url: str = Field("http://127.0.0.1:8001", description="Retrieval service base URL")
    captioning_url: str = Field("http://127.0.0.1:8002", description="Captioning service base URL")
    generation_url: str = Field("http://127.0.0.1:8003", description="Generation service base URL")
    connect_timeout_s: float = Field(2.0, gt=0, description="Connect timeout for every upstream")
    retrieval_timeout_s: float = Field(15.0, gt=0, description="Read timeout for retrieval")
    captioning_timeout_s: float = Field(60.0, gt=0, description="Read timeout for captioning")
    generation_timeout_s: float = Field(
        300.0, gt=0, description="Read timeout for generation (SD on a CPU takes minutes)"
    )
    retries: int = Field(
        2, ge=0, le=5, description="Retries of idempotent upstream calls, with backoff"
    )
    redis_url: str | None = Field(
        None, description="`redis://host:port/db` for the answer cache; unset: in-process LRU"
    )
    cache_ttl_s: int = Field(86_400, ge=1, description="How long a cached answer lives")
    cache_max_entries: int = Field(256, ge=1, description="Size of the in-process cache")
    version_ttl_s: float = Field(
        30.0, ge=0, description="How long upstream model/index versions (cache key) are reused"
    )
    tokenizer: str = Field(
        DEFAULT_SD, description="SD model whose tokenizer measures fused prompts (77 tokens)"
    )
    tokenizer_subfolder: str | None = Field("tokenizer", description="Tokenizer folder in it")
    generation_size: int = Field(
        512, ge=64, le=1024, multiple_of=8, description="Width and height of generated images"
    )
    caption_prompt: str | None = Field(None, description="Text the caption continues, if any")
    max_facts: int = Field(3, ge=0, le=10, description="Metadata sentences offered to fusion")
