"""Gateway wire contract: the RAG request and its answer."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, model_validator

from services.common.contracts.common import Base64Image, QueryText, present
from services.common.contracts.generation import (
    PREVIEW_RANGES,
    REPEAT_NEEDS_TILE,
    STYLE_OR_STYLES,
    AppliedStyle,
    GenerationParams,
    PakemParams,
    SeamlessRepeatName,
    StyleParams,
    check_denoising_steps,
)
from services.common.contracts.retrieval import Hit, RetrievalOptions
from services.common.jobs import JobError, JobProgress, JobRecord, JobState

MAX_RAG_TOP_K = 20
Stage = Literal["retrieval", "captioning", "fusion", "generation"]
# What an answer can be without: a stage, or the library that keeps its images as designs.
Degraded = Literal["retrieval", "captioning", "fusion", "generation", "library"]
# Where img2img starts: the top reference, the query image, or nowhere (txt2img).
InitSource = Literal["reference", "query", "none"]
# How an answer carries its images: inline base64 PNGs, or signed expiring URLs (as OpenAI's images
# API names them).
ResponseFormat = Literal["b64_json", "url"]
RESPONSE_FORMAT_DESCRIPTION = (
    "`b64_json`: images (and previews) inline as base64 PNG in `images`; `url`: `images` is empty "
    "and `image_urls` lists signed, expiring URLs that need no API key (an `<img src>` works)."
)


# RagRequest's cross-field rules, in its JSON Schema too (and the upload form's), so a generated
# client and a schema-driven test know them: text or image; init_source query needs the image; one
# of style and styles; a preview's steps and guidance ranges; a half-drop or half-brick repeat needs
# tile (the last three the generation request's too). One rule JSON Schema cannot state
# (int(steps * strength) >= 1 for img2img) is in the description of `steps`.
# Under allOf, not at the top: a top-level anyOf makes client generators split the model in two.
TEXT_OR_IMAGE = {"anyOf": [present("text"), present("image")]}
RAG_RULES = {
    "allOf": [
        TEXT_OR_IMAGE,
        {
            "if": {"properties": {"init_source": {"const": "query"}}, "required": ["init_source"]},
            "then": present("image"),
        },
        STYLE_OR_STYLES,
        PREVIEW_RANGES,
        REPEAT_NEEDS_TILE,
    ],
}


class RagRequest(GenerationParams, PakemParams, StyleParams, RetrievalOptions):
    text: QueryText | None = Field(None, description="What the user is looking for.")
    image: Base64Image | None = Field(None, description="A query image (base64).")
    top_k: int = Field(5, ge=1, le=MAX_RAG_TOP_K, description="References to retrieve.")
    generate: bool = Field(True, description="False stops after retrieval, captioning and fusion.")
    init_source: InitSource = Field(
        "reference",
        description="img2img from the top reference, from the query image, or txt2img (none).",
    )
    preview_repeat: bool = Field(
        False,
        description="Also answer each image repeated 3x3, as the cloth would show it (laid out in "
        "`repeat` when `tile`).",
    )
    save: bool = Field(
        True,
        description="Keep each generated image as a design in the caller's library (answered in "
        "`designs`); false: the answer only. Does not change the answer itself (nor its cache key).",
    )
    response_format: ResponseFormat = Field(
        "b64_json", description=RESPONSE_FORMAT_DESCRIPTION + " Not part of the cache key."
    )

    # The public request: an unknown or misspelled field is a 422 naming it, and no type is coerced
    # (`strength: true` or `generate: "no"` is refused, not read as 1.0 and True). The internal
    # models (generation, retrieval, captioning) stay tolerant, for rolling upgrades.
    model_config = {
        "extra": "forbid",
        "strict": True,
        "json_schema_extra": {
            **RAG_RULES,
            "examples": [
                {"text": "sekar bunga", "seed": 7},
                {"text": "brown flowered batik", "top_k": 3, "strength": 0.7, "steps": 20},
                {
                    "text": "kawung nitik",
                    "seed": 7,
                    "tile": True,
                    "symmetry": "d4",
                    "preview_repeat": True,
                },
            ],
        },
    }

    @model_validator(mode="after")
    def _check(self) -> RagRequest:
        if self.text is None and self.image is None:
            raise ValueError("give `text`, `image` or both")
        if self.init_source == "query" and self.image is None:
            raise ValueError("init_source='query' needs an `image`")
        if self.generate and self.init_source != "none":
            check_denoising_steps(self.steps, self.strength)
        return self


class PromptPart(BaseModel):
    source: Literal["query", "motif", "caption", "fact"]
    text: str = Field(description="The part as offered to fusion.")
    tokens: int = Field(description="Its length under SD's tokenizer.")
    kept: Literal["full", "partial", "dropped"]


class FusedPrompt(BaseModel):
    text: str
    parts: list[PromptPart]
    tokens: int = Field(description="Tokens of `text` including start and end tokens (<= 77).")
    truncated: bool = Field(description="True when some part was cut or dropped to fit.")
    cut: list[str] = Field(description="Text that did not fit, per part cut.")


class Caption(BaseModel):
    reference_id: int | None = Field(
        description="The reference captioned; null for the query image."
    )
    text: str


class CacheInfo(BaseModel):
    hit: bool
    key: str | None = None
    shared: bool = Field(
        False, description="True when an identical request running at the same time answered."
    )


class DesignRef(BaseModel):
    id: str = Field(description="The design's id: GET /v1/designs/{id}.")
    url: str = Field(description="Its PNG on the gateway: /v1/designs/{id}/image.")


class RagResponse(BaseModel):
    references: list[Hit]
    index_version: str | None = Field(
        None,
        description="The index version the references come from (their ids belong to it): "
        "pass it to `GET /v1/images/{id}?index_version=` so a reload never shows another row's "
        "image.",
    )
    captions: list[Caption]
    prompt: FusedPrompt
    images: list[str] = Field(
        description="Base64 PNG images (empty with `response_format: url`: see `image_urls`)."
    )
    image_urls: list[str] = Field(
        default_factory=list,
        description="With `response_format: url`: each image's signed URL (no API key needed), "
        "valid for GATEWAY_URL_TTL_S; a tampered or expired one answers 403.",
    )
    seed: int | None
    mode: Literal["img2img", "txt2img"] | None = None
    previews: list[str] = Field(
        default_factory=list, description="With preview_repeat: each image tiled 3x3 (base64 PNG)."
    )
    preview_urls: list[str] = Field(
        default_factory=list,
        description="With preview_repeat and `response_format: url`: each preview's signed URL.",
    )
    symmetry: str | None = Field(None, description="The symmetry group applied (auto resolved).")
    symmetry_scores: dict[str, float] = Field(
        default_factory=dict, description="With symmetry=auto: the init image's error per group."
    )
    model: str | None = Field(None, description="The generation model that ran.")
    scheduler: str | None = Field(None, description="The sampler that ran.")
    model_version: str | None = Field(
        None, description="The generation model's version with the styles it ran (name@version)."
    )
    styles: list[AppliedStyle] = Field(
        default_factory=list, description="The styles the images were made with."
    )
    timings_ms: dict[str, float]
    cache: CacheInfo
    degraded: list[Degraded] = Field(
        description="Stages that failed and were skipped; `library`: the library does not answer "
        "(with `designs`: they are queued and saved once it is back; without: not saved)."
    )
    designs: list[DesignRef] = Field(
        default_factory=list,
        description="The saved design of each image, in order; empty with `save: false`, without "
        "a library, or when saving failed (then `library` is in `degraded`).",
    )


class RagJobRequest(RagRequest):
    """`POST /v1/jobs`: the `/v1/rag` body, and where to report the job's end."""

    callback_url: str | None = Field(
        None,
        max_length=2048,
        pattern=r"^https?://[^\s]+$",
        description="A webhook: POSTed a signed `job.finished` event when the job ends (https; a "
        "private, loopback or link-local address only when the gateway allow-lists it).",
    )

    model_config = {
        **RagRequest.model_config,
        "json_schema_extra": {
            **RAG_RULES,  # the same cross-field rules as /v1/rag's body
            "examples": [
                {"text": "sekar bunga", "seed": 7, "response_format": "url"},
                {"text": "kawung", "callback_url": "https://hooks.example.com/batik"},
            ],
        },
    }


class RagJob(JobRecord):
    """`GET /v1/jobs/{id}` on the gateway: a RAG flow run as a job."""

    stage: Stage | None = Field(
        None, description="The stage running now (or the last one reached); null before the first."
    )
    generation_job_id: str | None = Field(
        None,
        description="The generation service's job behind the generation stage, once submitted.",
    )
    result: RagResponse | None = None  # type: ignore[assignment]
    response_format: ResponseFormat = Field(
        "b64_json",
        description="How `result` carries its images: the job's own `response_format`, unless "
        "`GET ?response_format=` asks otherwise.",
    )
    callback_url: str | None = Field(None, description="The job's webhook, if it has one.")


class RagJobSummary(BaseModel):
    """One job of `GET /v1/jobs`: its record without the answer (read that at `status_url`)."""

    job_id: str
    state: JobState
    stage: Stage | None = None
    progress: JobProgress
    cancel_requested: bool = False
    error: JobError | None = None
    created_at: float
    updated_at: float
    status_url: str = Field(description="`/v1/jobs/{job_id}`: the record with its answer.")


class RagJobPage(BaseModel):
    """`GET /v1/jobs`: the caller's jobs, newest first."""

    jobs: list[RagJobSummary]
    next_cursor: str | None = Field(
        None, description="Pass as `cursor` for the next page; null on the last page."
    )


class RemixRequest(BaseModel):
    """`POST /v1/designs/{id}/remix`: the design's recorded request again, with these changes."""

    text: QueryText | None = None
    seed: int | None = Field(None, ge=0, le=2**32 - 1)
    strength: float | None = None
    guidance_scale: float | None = None
    steps: int | None = None
    symmetry: str | None = None
    tile: bool | None = None
    repeat: SeamlessRepeatName | None = None
    save: bool = Field(True, description="Keep the remix as a design (its parent: the original).")
    response_format: ResponseFormat = Field("b64_json", description=RESPONSE_FORMAT_DESCRIPTION)

    model_config = {
        "extra": "forbid",
        "json_schema_extra": {"examples": [{"seed": 8}, {"strength": 0.7, "symmetry": "d4"}]},
    }


class DesignSearch(BaseModel):
    """`POST /v1/designs/search`: the caller's designs nearest to a text or an image (CLIP)."""

    text: QueryText | None = None
    image: Base64Image | None = Field(None, description="An image (base64).")
    limit: int = Field(10, ge=1, le=100)

    model_config = {
        "extra": "forbid",
        "strict": True,
        "json_schema_extra": {
            "allOf": [{"oneOf": [present("text"), present("image")]}],
            "examples": [{"text": "kawung", "limit": 12}],
        },
    }

    @model_validator(mode="after")
    def _one_query(self) -> DesignSearch:
        if (self.text is None) == (self.image is None):
            raise ValueError("give `text` or `image` (one of them)")
        return self
