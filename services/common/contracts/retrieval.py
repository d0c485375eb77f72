"""Retrieval service wire contract: search by text, image or both."""

from __future__ import annotations

from pydantic import BaseModel, Field, model_validator

from services.common.contracts.common import Base64Image, QueryText

MAX_TOP_K = 100


class SearchRequest(BaseModel):
    text: QueryText | None = None
    image: Base64Image | None = None
    top_k: int = Field(5, ge=1, le=MAX_TOP_K, description="How many hits to return.")
    text_weight: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="With both text and image: the text's share of the query vector.",
    )

    model_config = {
        "json_schema_extra": {"examples": [{"text": "sekar bunga", "top_k": 5}]},
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


class Hit(BaseModel):
    id: int = Field(description="Row id in the index; `GET /v1/images/{id}` returns the image.")
    score: float = Field(description="Cosine similarity between the query and the image.")
    motif: Motif
    file: str
    instance: int
    rotation: int


class IndexInfo(BaseModel):
    version: str
    size: int
    model: str


class SearchResponse(BaseModel):
    hits: list[Hit]
    index: IndexInfo
