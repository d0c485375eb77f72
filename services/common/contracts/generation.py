"""Generation service wire contract: Stable Diffusion img2img (with `init_image`) or txt2img."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, model_validator

from services.common.contracts.common import Base64Image, Seed
from services.common.jobs import JobRecord

MAX_SIDE = 1024
# Hard bound of the contract; GENERATION_MAX_IMAGES may lower it per deployment.
MAX_NUM_IMAGES = 8
SchedulerName = Literal["ddim", "pndm", "euler", "euler_a", "dpmpp_2m"]
SymmetryName = Literal["none", "c2", "c4", "d4", "auto"]


class GenerationParams(BaseModel):
    """The knobs a client turns; shared with the gateway's RAG request."""

    strength: float = Field(
        0.55,
        gt=0.0,
        le=1.0,
        description="img2img: how far to depart from the init image (1.0 ignores it).",
    )
    guidance_scale: float = Field(7.5, ge=0.0, le=30.0)
    steps: int = Field(30, ge=1, le=150, description="Denoising steps before strength applies.")
    seed: Seed | None = Field(None, description="Omit for a random seed; the answer reports it.")
    negative_prompt: str | None = Field(None, max_length=1000)


class PakemParams(BaseModel):
    """The traditional rules a motif keeps (pakem); shared with the gateway's RAG request."""

    tile: bool = Field(
        False, description="Seamless repeat: the tile continues across its own edges."
    )
    symmetry: SymmetryName = Field(
        "none",
        description="Symmetry group the motif grows with (square images only): c2, c4 (four-fold "
        "rotation), d4 (rotations and mirrors), or auto (the strongest group the init image has).",
    )
    control_scale: float | None = Field(
        None,
        ge=0.0,
        le=2.0,
        description="ControlNet on the edges of the control image (default: the init image); "
        "omit for none. Needs GENERATION_CONTROLNET.",
    )


class GenerateRequest(GenerationParams, PakemParams):
    prompt: str = Field(min_length=1, max_length=2000)
    init_image: Base64Image | None = Field(
        None, description="Reference for img2img; without it the service runs txt2img."
    )
    width: int = Field(512, ge=64, le=MAX_SIDE, description="A multiple of 8.")
    height: int = Field(512, ge=64, le=MAX_SIDE, description="A multiple of 8.")
    scheduler: SchedulerName | None = Field(
        None, description="Sampler for this request only; omit for the model's own."
    )
    num_images: int = Field(
        1,
        ge=1,
        le=MAX_NUM_IMAGES,
        description="Images to generate; image k uses seed + k (each reproducible on its own).",
    )
    control_image: Base64Image | None = Field(
        None, description="Image whose edges guide the structure; default: init_image."
    )

    @model_validator(mode="after")
    def _check_runnable(self) -> GenerateRequest:
        if self.symmetry != "none" and self.width != self.height:
            raise ValueError(f"symmetry={self.symmetry} needs a square image (width == height)")
        if (
            self.control_scale is not None
            and self.control_image is None
            and self.init_image is None
        ):
            raise ValueError(
                "control_scale needs a control_image or an init_image to take edges from"
            )
        for name in ("width", "height"):
            if getattr(self, name) % 8:
                raise ValueError(f"{name} must be a multiple of 8 (SD's VAE downsamples by 8)")
        if self.init_image is not None and int(self.steps * self.strength) == 0:
            raise ValueError(
                f"steps={self.steps} at strength={self.strength} leaves no denoising step "
                "(int(steps * strength) must be at least 1)"
            )
        if not self.prompt.strip():
            raise ValueError("prompt is blank")
        return self


class GenerationSummary(BaseModel):
    seed: int = Field(description="Seed of the first image.")
    # Defaults keep answers of an older service parseable by a newer client.
    seeds: list[int] = Field(default_factory=list, description="Seed of each image, in order.")
    mode: Literal["img2img", "txt2img"]
    scheduler: str = Field("default", description="The sampler that ran.")
    prompt_tokens: int = Field(description="Tokens of the prompt under the SD text tokenizer.")
    prompt_chunks: int = Field(
        1, description="77-token windows the prompt was encoded in (long prompts are chunked)."
    )
    truncated: bool = Field(
        description="True when the prompt was longer than the chunks allowed and its end was cut."
    )
    model: str
    symmetry: str = Field("none", description="The symmetry group applied (auto resolved).")
    symmetry_scores: dict[str, float] = Field(
        default_factory=dict,
        description="With auto: the init image's symmetry error per group (0-255; lower is more "
        "symmetric).",
    )
    tile: bool = False
    control_scale: float | None = None


class GenerateResponse(GenerationSummary):
    images: list[str] = Field(description="Base64 PNG images.")


class GenerateJobResult(GenerationSummary):
    images: list[str] = Field(description="Paths of the PNGs: GET /v1/jobs/{id}/images/{n}.")


class GenerationJob(JobRecord):
    result: GenerateJobResult | None = None  # type: ignore[assignment]
