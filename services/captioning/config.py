from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.common.settings import BaseServiceSettings, CudaMemoryFraction

DEFAULT_BLIP2 = "Salesforce/blip2-opt-2.7b"
DEFAULT_TRAIN_TEMPLATE = "{name}, a Batik Nitik motif. {facts}"


class CaptioningSettings(BaseServiceSettings):
    model_config = SettingsConfigDict(
        env_prefix="CAPTIONING_", extra="ignore", env_ignore_empty=True
    )

    model: str = Field(DEFAULT_BLIP2, description="BLIP-2 model: hub id or local directory")
    model_revision: str | None = Field(
        None,
        description="Hub revision (commit, tag or branch) of CAPTIONING_MODEL; in the model version "
        "and so in cache keys. Unset: unpinned",
    )
    adapter_revision: str | None = Field(
        None, description="Hub revision of CAPTIONING_ADAPTER when it is a hub id"
    )
    adapter: str | None = Field(
        None,
        description="Default LoRA adapter: a name under CAPTIONING_ADAPTERS_DIR, a directory or a "
        "hub id; merged into the weights on load",
    )
    adapters_dir: str | None = Field(
        None,
        description="Directory of adapters from `batik finetune` that requests may name "
        "(GET /v1/adapters)",
    )
    cuda_memory_fraction: CudaMemoryFraction = None
    max_inflight: int = Field(
        4, ge=1, description="Requests running or waiting; past it the service answers 429"
    )
    max_batch: int = Field(8, ge=1, le=64, description="Most images in one caption request")
    repetition_penalty: float = Field(
        1.3, ge=1.0, le=3.0, description="Penalty on repeated tokens while decoding"
    )
    no_repeat_ngram_size: int = Field(
        3, ge=0, description="No n-gram of this size is generated twice; 0: off"
    )
    min_caption_words: int = Field(
        3, ge=1, description="Shorter captions are degenerate: retried once, then reported"
    )
    min_answer_words: int = Field(
        1, ge=1, description="Shorter VQA answers are degenerate: retried once, then reported"
    )
    retry_temperature: float = Field(
        0.8, gt=0.0, le=2.0, description="Sampling temperature of the retry of a degenerate output"
    )
    train_template: str = Field(
        DEFAULT_TRAIN_TEMPLATE,
        description="`batik finetune` target text; fields {name}, {facts}, {philosophy}",
    )
    train_facts: int = Field(
        2, ge=0, description="Leading sentences of the English description used as {facts}"
    )
