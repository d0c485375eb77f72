"""Library service wire contract: designs (generated images with their provenance) and boards.

The library is internal: only the gateway calls it, after authenticating. Every request names its owner
in `X-Owner-Id` (an API key's id, or `anonymous` when keys are off); `X-Owner-Admin: true` sees and
changes every owner's things. Another owner's design or board answers 404, exactly as an unknown id does:
ids leak nothing. A malformed id is no design of ours and answers 404 too.

A design's `provenance` is the JSON the gateway saves with it and the library embeds, whole, in the PNG
(iTXt chunk `batik`). The library reads these keys (all optional; anything else is kept as it is):

    request          the RAG request as JSON, without `image` (a query image is not stored)
    prompt           the fused prompt: {text, parts, tokens, truncated, cut}   -> Design.prompt
    negative_prompt  the negative prompt sent to generation (else request.negative_prompt)
    references       retrieval hits: [{id, score, motif: {number, name, ...}, ...}] -> Design.motifs
    index_version    the index the references came from
    captions         [{reference_id, text}]
    seed, scheduler, steps, strength, guidance_scale, mode, tile, repeat, symmetry,
    symmetry_scores, control_scale   the generation settings that ran (seed: this image's own seed;
                     repeat: the repeat a tile is seamless in, null without tile)
    versions         {model, adapter, index, ...}                     -> `Model:` in `parameters`
    timings_ms       stage timings of the run
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints, field_validator

OWNER_HEADER = "X-Owner-Id"
ADMIN_HEADER = "X-Owner-Admin"  # "true": the caller is an admin and sees every owner's things
ANONYMOUS_OWNER = "anonymous"  # the owner when API keys are off: one shared library

# What the library's id makers produce; anything else is no design/board of ours (404).
DESIGN_ID = re.compile(r"d_[0-9a-f]{20}")
BOARD_ID = re.compile(r"b_[0-9a-f]{20}")
OWNER_ID = re.compile(r"[A-Za-z0-9._:@-]{1,128}")

THUMBNAIL_SIZES = (128, 256, 512)  # `GET /v1/designs/{id}/image?size=`: longest side, in pixels
ThumbnailSize = Literal[128, 256, 512]
MAX_PAGE = 100
MAX_TAGS = 20
MAX_EMBEDDING_DIM = 4096
# The largest motif number a design records: design_motifs.motif is a (PostgreSQL) integer.
MAX_MOTIF = 2**31 - 1

Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
Title = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
Notes = Annotated[str, StringConstraints(max_length=5000)]
BoardName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


def new_design_id() -> str:
    """A fresh design id. The gateway names a design when it answers, before the library saves it."""
    return "d_" + secrets.token_hex(10)


def design_url(design_id: str) -> str:
    """Where the gateway serves a design's PNG (the library's own route has the same path)."""
    return f"/v1/designs/{design_id}/image"


class DesignCreate(BaseModel):
    """`POST /v1/designs`: one generated image and how it was made."""

    id: str | None = Field(
        None,
        pattern=f"^{DESIGN_ID.pattern}$",  # whole: JSON Schema and pydantic patterns search
        description="The design's id, chosen by the caller (the gateway names a design when it "
        "answers, then saves it): saving the same id again answers the saved design, so a retried "
        "save stores one. Null: the library picks one.",
    )
    created_at: datetime | None = Field(
        None, description="When the design was made (UTC); null: now."
    )
    image_b64: str = Field(min_length=1, description="The generated image, PNG, as base64.")
    embedding: list[float] | None = Field(
        None,
        min_length=1,
        max_length=MAX_EMBEDDING_DIM,
        description="The image's CLIP embedding (retrieval's /v1/embed); null: not searchable by "
        "similarity.",
    )
    provenance: dict[str, Any] = Field(
        default_factory=dict,
        description="Everything needed to understand and repeat the design; see the module doc "
        "for the keys the library reads.",
    )
    parent_id: str | None = Field(None, description="The design this one remixes.")
    title: Title | None = None
    notes: Notes | None = None
    tags: list[Tag] = Field(default_factory=list, max_length=MAX_TAGS)

    @field_validator("tags")
    @classmethod
    def _unique_tags(cls, tags: list[str]) -> list[str]:
        return list(dict.fromkeys(tags))


class DesignUpdate(BaseModel):
    """`PATCH /v1/designs/{id}`: only the fields sent change; `null` clears title or notes."""

    title: Title | None = None
    notes: Notes | None = None
    tags: list[Tag] | None = Field(None, max_length=MAX_TAGS)
    favorite: bool | None = None

    model_config = {"extra": "forbid"}

    @field_validator("tags")
    @classmethod
    def _unique_tags(cls, tags: list[str] | None) -> list[str] | None:
        return None if tags is None else list(dict.fromkeys(tags))


class Design(BaseModel):
    id: str = Field(description="Short url-safe id, `d_` and 20 hex digits.")
    owner: str = Field(description="The owner's id (an API key's id, never the key).")
    url: str = Field(description="Path of the PNG on the gateway: /v1/designs/{id}/image.")
    created_at: datetime = Field(description="When it was saved (UTC).")
    title: str | None = None
    notes: str | None = None
    tags: list[str] = Field(default_factory=list)
    favorite: bool = False
    parent_id: str | None = Field(None, description="The design this one remixes, if any.")
    motifs: list[int] = Field(
        default_factory=list, description="Motif numbers of the references it was made from."
    )
    prompt: str = Field("", description="The fused prompt it was generated with.")
    board_ids: list[str] = Field(default_factory=list, description="Boards it is on.")
    provenance: dict[str, Any] = Field(default_factory=dict)
    width: int
    height: int
    sha256: str = Field(description="sha256 of the PNG bytes (also its ETag).")


class DesignPage(BaseModel):
    designs: list[Design] = Field(description="Newest first.")
    next_cursor: str | None = Field(
        None, description="Pass as `cursor` for the next page; null on the last page."
    )


class NearestRequest(BaseModel):
    """`POST /v1/designs/nearest`: the owner's designs closest to an embedding (cosine)."""

    embedding: list[float] = Field(
        min_length=1,
        max_length=MAX_EMBEDDING_DIM,
        description="A direction to compare with: not all zeros.",
        # The store's rule (it has no direction), in the spec for generators and schema tests.
        json_schema_extra={"contains": {"not": {"const": 0}}},
    )
    limit: int = Field(10, ge=1, le=MAX_PAGE)


class ScoredDesign(BaseModel):
    design: Design
    score: float = Field(description="Cosine similarity to the query, in [-1, 1].")


class NearestResponse(BaseModel):
    designs: list[ScoredDesign] = Field(
        description="Best first; designs without an embedding are skipped."
    )


class ImportResponse(BaseModel):
    """`POST /v1/designs/import`: the RAG request that recalls a PNG's settings."""

    request: dict[str, Any] = Field(description="RAG request fields (text, seed, steps, ...).")
    source: Literal["batik", "parameters"] = Field(
        description="batik: our iTXt provenance chunk; parameters: an AUTOMATIC1111-style "
        "`parameters` text chunk (ours or another tool's)."
    )


class BoardCreate(BaseModel):
    name: BoardName


class BoardUpdate(BaseModel):
    name: BoardName

    model_config = {"extra": "forbid"}


class Board(BaseModel):
    id: str = Field(description="Short url-safe id, `b_` and 20 hex digits.")
    name: str
    created_at: datetime
    design_count: int = Field(description="Designs on the board.")


class BoardList(BaseModel):
    boards: list[Board] = Field(description="Oldest first.")
