"""Retrieval service wire contract: search, embeddings, and the index in service."""

from __future__ import annotations

from pydantic import BaseModel, Field, model_validator

from services.common.contracts.common import Base64Image, QueryText, present

MAX_TOP_K = 100
# The sides the index keeps each photo at: 224 (CLIP's input) and 512 (SD's).
IMAGE_SIZES = (224, 512)
MAX_MOTIFS_FILTER = 1000
MAX_NPROBE = 4096
MAX_EF_SEARCH = 4096
# Texts and images together per `POST /v1/embed`; images are also bounded by the body size limit.
MAX_EMBED_ITEMS = 64


class RetrievalOptions(BaseModel):
    """How references are ranked; shared with the gateway's RAG request."""

    text_weight: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="With both text and image: the text's share of the query vector, which is "
        "the normalised sum `w * text + (1 - w) * image` of the two unit embeddings. 1 ranks as "
        "the text alone, 0 as the image alone. Ignored when only one is given.",
    )
    dedupe: bool = Field(
        True,
        description="Keep only the best hit per source photo (motif + instance): the dataset "
        "holds four rotations of each photo. `false` answers the raw nearest neighbours.",
    )
    motifs: list[int] | None = Field(
        None,
        min_length=1,
        max_length=MAX_MOTIFS_FILTER,
        description="Search only these motif numbers (`No.` in the metadata). Exact with a flat "
        "index; omit the field to search everything.",
    )
    lexical_weight: float | None = Field(
        None,
        ge=0.0,
        le=1.0,
        description="Queries with text: the share of the lexical ranking (BM25 over motif names, "
        "their spellings and descriptions) in the reciprocal rank fusion with the visual (CLIP) "
        "ranking. 0 ranks exactly as the visual search alone. Default: the service's "
        "`RETRIEVAL_LEXICAL_WEIGHT` (0.5). Ignored for image-only queries.",
    )


class SearchRequest(RetrievalOptions):
    text: QueryText | None = None
    image: Base64Image | None = None
    top_k: int = Field(5, ge=1, le=MAX_TOP_K, description="How many hits to return.")
    nprobe: int | None = Field(
        None,
        ge=1,
        le=MAX_NPROBE,
        description="ivfpq indexes: inverted lists to visit (more: better recall, slower). "
        "Default: the index's; capped at its list count; ignored by other index types.",
    )
    ef_search: int | None = Field(
        None,
        ge=1,
        le=MAX_EF_SEARCH,
        description="hnsw indexes: candidate list size (more: better recall, slower). "
        "Default: the index's; ignored by other index types.",
    )

    model_config = {
        "json_schema_extra": {
            # _needs_a_query's rule, for generators and schema-driven tests.
            "allOf": [{"anyOf": [present("text"), present("image")]}],
            "examples": [
                {"text": "sekar bunga", "top_k": 5},
                {"text": "Sekar Srigadhing", "top_k": 5, "lexical_weight": 0.5},
                {
                    "text": "dark brown flower",
                    "image": "<base64 PNG or JPEG>",
                    "text_weight": 0.3,
                    "top_k": 5,
                    "dedupe": True,
                    "motifs": [1, 3, 12],
                },
            ],
        },
    }

    @model_validator(mode="after")
    def _needs_a_query(self) -> SearchRequest:
        if self.text is None and self.image is None:
            raise ValueError("give `text`, `image` or both")
        return self


class Motif(BaseModel):
    number: int = Field(description="The motif's `No.` in the dataset's metadata workbook.")
    name: str
    description_id: str = Field("", description="Indonesian description.")
    description_en: str = Field("", description="English description.")
    philosophy: str = Field("", description="The English sentences about the motif's meaning.")


class ChannelScore(BaseModel):
    score: float = Field(
        description="visual: the cosine similarity; lexical: the motif's BM25 score (0: no match)."
    )
    rank: int | None = Field(
        None,
        description="1-based rank in that channel's list (visual: among photos when deduped; "
        "lexical: among motifs, equal scores share a rank); null: not in the list, so the "
        "channel adds nothing to the fused score.",
    )
    names: float | None = Field(
        None, description="lexical: the BM25 score of the motif's names (> 0: a name matched)."
    )
    descriptions: float | None = Field(
        None,
        description="lexical: the BM25 score of its descriptions (> 0: a description matched); "
        "`score` = 2 x names + descriptions.",
    )


class Hit(BaseModel):
    id: int = Field(description="Row id in the index; `GET /v1/images/{id}` returns the image.")
    score: float = Field(description="Cosine similarity between the query and the image.")
    motif: Motif
    file: str
    instance: int
    rotation: int
    fused_score: float | None = Field(
        None,
        description="The reciprocal rank fusion score hits are ordered by, when the lexical "
        "channel took part; null when the order is the visual one (then by `score`).",
    )
    visual: ChannelScore | None = Field(None, description="The visual (CLIP) channel's part.")
    lexical: ChannelScore | None = Field(
        None, description="The lexical (BM25) channel's part; null when it took no part."
    )


class IndexInfo(BaseModel):
    version: str
    size: int
    model: str
    type: str = Field("flat", description="flat, hnsw or ivfpq")


class SearchDetails(BaseModel):
    exact: bool = Field(description="True when the scores of every row searched were computed.")
    candidates: int = Field(description="Neighbours fetched before near-duplicates collapsed.")
    deduped: bool
    nprobe: int | None = Field(None, description="Lists visited (ivfpq).")
    ef_search: int | None = Field(None, description="Candidate list size used (hnsw).")


class QueryInfo(BaseModel):
    language: str | None = Field(
        None, description="`id` (Indonesian) or `en` (English) for a text query; null otherwise."
    )
    language_confidence: float | None = Field(None, description="In [0, 1].")
    text_model: str | None = Field(
        None, description="The text tower that embedded the text (CLIP's or a multilingual one)."
    )
    lexical_weight: float = Field(description="The lexical share used; 0 when it took no part.")
    fusion: str = Field(
        description="`visual`: hits in cosine order; `rrf`: weighted reciprocal rank fusion of "
        "the visual and lexical rankings."
    )


class SearchResponse(BaseModel):
    hits: list[Hit]
    index: IndexInfo
    search: SearchDetails | None = None
    query: QueryInfo | None = None


def _non_empty(name: str) -> dict:
    """JSON Schema: the list `name` is there with an item at least."""
    return {"required": [name], "properties": {name: {"type": "array", "minItems": 1}}}


class EmbedRequest(BaseModel):
    texts: list[QueryText] | None = Field(
        None,
        max_length=MAX_EMBED_ITEMS,
        description="Texts to embed (CLIP truncates at 77 tokens); at most "
        f"{MAX_EMBED_ITEMS} texts and images together.",
    )
    images: list[Base64Image] | None = Field(
        None,
        max_length=MAX_EMBED_ITEMS,
        description=f"Images to embed, base64 like `image`; at most {MAX_EMBED_ITEMS} texts and "
        "images together.",
    )

    model_config = {
        "json_schema_extra": {
            # _needs_inputs' first rule, for generators and schema-driven tests (its second, a
            # bound on the two lists together, JSON Schema cannot state: the descriptions say it).
            "allOf": [{"anyOf": [_non_empty("texts"), _non_empty("images")]}],
            "examples": [{"texts": ["kawung", "sekar bunga"]}],
        },
    }

    @model_validator(mode="after")
    def _needs_inputs(self) -> EmbedRequest:
        count = len(self.texts or []) + len(self.images or [])
        if count == 0:
            raise ValueError("give at least one of `texts` or `images`")
        if count > MAX_EMBED_ITEMS:
            raise ValueError(f"at most {MAX_EMBED_ITEMS} texts and images together per request")
        return self


class EmbedResponse(BaseModel):
    model: str = Field(description="The model source (hub id or directory name).")
    model_version: str
    dim: int
    texts: list[list[float]] = Field(description="One L2-normalised vector per text, in order.")
    images: list[list[float]] = Field(description="One L2-normalised vector per image, in order.")
    text_model: str | None = Field(
        None,
        description="The text tower that embedded `texts`: the multilingual one when the service "
        "has one (the same vectors text searches use), else the CLIP model.",
    )


class IndexStatus(BaseModel):
    version: str
    type: str
    size: int
    dim: int
    motifs: int
    model: str = Field(description="The model the service runs (the index was built with it).")
    model_version: str
    params: dict[str, int] = Field(description="Build and default query parameters (manifest).")
    device: str = Field(description="cpu, or cuda when the flat index runs on a GPU.")
    directory: str
    created: str = Field(description="When `batik ingest` built the index (UTC).")
    loaded_at: str = Field(description="When this replica loaded it (UTC).")
    load_seconds: float


class ReloadRequest(BaseModel):
    index_dir: str = Field(
        min_length=1, description="Index directory on the service's file system."
    )

    model_config = {
        "json_schema_extra": {"examples": [{"index_dir": "/data/index/20260101T000000Z"}]}
    }


class ReloadResponse(BaseModel):
    previous_version: str
    index: IndexStatus
