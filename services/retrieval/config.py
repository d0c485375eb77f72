from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from services.common.settings import BaseServiceSettings, CudaMemoryFraction

DEFAULT_CLIP = "openai/clip-vit-base-patch32"


class RetrievalSettings(BaseServiceSettings):
    model_config = SettingsConfigDict(
        env_prefix="RETRIEVAL_", extra="ignore", env_ignore_empty=True
    )

    model: str = Field(DEFAULT_CLIP, description="CLIP model: hub id or local directory")
    model_revision: str | None = Field(
        None,
        description="Hub revision (commit, tag or branch) of RETRIEVAL_MODEL; in the model version, "
        "so in cache keys and the index manifest (`batik ingest` reads it too). Unset: unpinned",
    )
    index_dir: str = Field("data/index", description="Index directory written by `batik ingest`")
    index_root: str | None = Field(
        None,
        description="The only directory `POST /v1/index/reload` loads from (directories under it); "
        "unset: the directory holding RETRIEVAL_INDEX_DIR",
    )
    batch_size: int = Field(
        32, ge=1, le=512, description="Embedding batch size; also the largest micro-batch"
    )
    batch_wait_ms: float = Field(
        2.0,
        ge=0,
        le=100,
        description="How long an idle embedding worker waits for concurrent requests to batch",
    )
    admin_token: SecretStr | None = Field(
        None,
        description="Bearer token for `POST /v1/index/reload`; unset: reload is refused",
    )
    cuda_memory_fraction: CudaMemoryFraction = None
    max_inflight: int = Field(
        64,
        ge=1,
        description="Searches running or waiting; past it the service answers 429 (waiting "
        "searches are what micro-batching gathers, so this bound is generous)",
    )
    text_model: str | None = Field(
        None,
        description="Multilingual text tower aligned to CLIP's space (sentence-transformers): hub "
        "id (sentence-transformers/clip-ViT-B-32-multilingual-v1) or local directory; unset: "
        "CLIP's own text tower",
    )
    text_model_revision: str | None = Field(
        None, description="Hub revision of RETRIEVAL_TEXT_MODEL, as RETRIEVAL_MODEL_REVISION"
    )
    lexical_weight: float = Field(
        0.5,
        ge=0,
        le=1,
        description="Share of the lexical (BM25) ranking in text queries' rank fusion; 0: visual "
        "ranking only",
    )
    lexical_min_ratio: float = Field(
        0.5,
        gt=0,
        le=1,
        description="Motifs whose BM25 score is below this share of the best one get no lexical "
        "rank",
    )
    rrf_k_lexical: float = Field(
        1.0, ge=0, description="Reciprocal rank fusion constant k of the lexical ranking"
    )
    rrf_k_visual: float = Field(
        60.0, ge=0, description="Reciprocal rank fusion constant k of the visual ranking"
    )
    detect_language: bool = Field(
        True, description="Report whether a text query is Indonesian or English (lingua)"
    )
