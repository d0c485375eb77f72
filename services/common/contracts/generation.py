"""Generation service wire contract: Stable Diffusion img2img (with `init_image`) or txt2img."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, model_validator

from services.common.contracts.common import NOT_BLANK, Base64Image, Seed, present
from services.common.jobs import JobRecord

MAX_SIDE = 1024
# Hard bound of the contract; GENERATION_MAX_IMAGES may lower it per deployment.
MAX_NUM_IMAGES = 8
SchedulerName = Literal["ddim", "pndm", "euler", "euler_a", "dpmpp_2m"]
SymmetryName = Literal["none", "c2", "c4", "d4", "auto"]
# The repeats a generated tile can be seamless in (services/common/repeats.py SEAMLESS_REPEATS).
SeamlessRepeatName = Literal["full", "half_drop", "half_brick"]
# A style's name: an adapter name in the UNet (no dots) that needs no escaping in a URL.
STYLE_NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
MAX_STYLE_SCALE = 2.0
MAX_BLEND = 4
# What the LCM-LoRA model card prescribes for previews.
PREVIEW_STEPS = (4, 8)
PREVIEW_GUIDANCE = (1.0, 2.0)
# The SD VAE downsamples by 8: a side is a multiple of it.
SIDE_MULTIPLE = 8

# The cross-field rules of the knobs below, in JSON Schema too (the generation request's and the
# gateway's RAG request's), so a generated client and a schema-driven test know them; the model
# validators stay the checks. What JSON Schema cannot state is in a description: img2img's
# int(steps * strength) >= 1 (`steps`), a symmetry's square image (`symmetry`), a blend's distinct
# names (`styles`).
STYLE_OR_STYLES = {"not": present("style", "styles")}
PREVIEW_RANGES = {
    "if": {"properties": {"preview": {"const": True}}, "required": ["preview"]},
    "then": {
        "properties": {
            "steps": {"minimum": PREVIEW_STEPS[0], "maximum": PREVIEW_STEPS[1]},
            "guidance_scale": {"minimum": PREVIEW_GUIDANCE[0], "maximum": PREVIEW_GUIDANCE[1]},
        }
    },
}
REPEAT_NEEDS_TILE = {
    "if": {"properties": {"repeat": {"enum": ["half_drop", "half_brick"]}}, "required": ["repeat"]},
    "then": {"properties": {"tile": {"const": True}}, "required": ["tile"]},
}
CONTROL_NEEDS_AN_IMAGE = {
    "if": present("control_scale"),
    "then": {"anyOf": [present("control_image"), present("init_image")]},
}


def check_denoising_steps(steps: int, strength: float) -> None:
    """img2img runs `int(steps * strength)` denoising steps; at 0 diffusers fails cryptically.

    The one statement of the rule: the generation and gateway contracts and the engine's
    check_inputs all call it."""
    if int(steps * strength) == 0:
        raise ValueError(
            f"steps={steps} at strength={strength} leaves no denoising step "
            "(int(steps * strength) must be at least 1)"
        )


class GenerationParams(BaseModel):
    """The knobs a client turns; shared with the gateway's RAG request."""

    strength: float = Field(
        0.55,
        gt=0.0,
        le=1.0,
        description="img2img: how far to depart from the init image (1.0 ignores it).",
    )
    guidance_scale: float = Field(7.5, ge=0.0, le=30.0)
    steps: int = Field(
        30,
        ge=1,
        le=150,
        description="Denoising steps before strength applies: img2img runs int(steps x strength) "
        "of them, which must be at least 1.",
    )
    seed: Seed | None = Field(None, description="Omit for a random seed; the answer reports it.")
    negative_prompt: str | None = Field(None, max_length=1000)


class PakemParams(BaseModel):
    """The traditional rules a motif keeps (pakem); shared with the gateway's RAG request."""

    tile: bool = Field(
        False, description="Seamless repeat: the tile continues across its own edges."
    )
    repeat: SeamlessRepeatName = Field(
        "full",
        description="With tile: the repeat the tile is seamless in. full: a plain grid; half_drop: "
        "every other column moved down by half the tile (the height, in the engine a multiple of "
        "128 px for SD 1.5, so the offset is whole at every UNet level); half_brick: every other "
        "row moved right by half the tile (the width, likewise).",
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

    @model_validator(mode="after")
    def _check_repeat(self) -> PakemParams:
        if self.repeat != "full" and not self.tile:
            raise ValueError(f"repeat={self.repeat} shapes a seamless tile: set tile: true too")
        return self


class StyleWeight(BaseModel):
    name: str = Field(pattern=STYLE_NAME_PATTERN, description="A style GET /v1/styles lists.")
    scale: float = Field(1.0, ge=0.0, le=MAX_STYLE_SCALE, description="0: off; 1: as trained.")


class StyleParams(BaseModel):
    """Style LoRAs (trained by `batik finetune-style`) and previews; shared with the RAG request."""

    style: str | None = Field(
        None,
        pattern=STYLE_NAME_PATTERN,
        description="A style by name (GET /v1/styles); omit for none (or the service's default).",
    )
    style_scale: float = Field(
        1.0, ge=0.0, le=MAX_STYLE_SCALE, description="Strength of `style`: 0 is none, 1 as trained."
    )
    styles: list[StyleWeight] | None = Field(
        None,
        max_length=MAX_BLEND,
        description="A blend of styles, each at its scale (instead of `style`); each name once.",
    )
    preview: bool = Field(
        False,
        description="A fast preview through the distillation LoRA (GENERATION_PREVIEW_LORA) and the "
        f"LCM scheduler: steps {PREVIEW_STEPS[0]}-{PREVIEW_STEPS[1]} (default "
        f"{PREVIEW_STEPS[0]}), guidance {PREVIEW_GUIDANCE[0]}-{PREVIEW_GUIDANCE[1]} (default "
        f"{PREVIEW_GUIDANCE[0]}).",
    )

    def style_choices(self) -> list[StyleWeight]:
        """The styles asked for, each with its scale (empty: none)."""
        if self.styles is not None:
            return list(self.styles)
        return [StyleWeight(name=self.style, scale=self.style_scale)] if self.style else []

    @model_validator(mode="after")
    def _check_styles(self) -> StyleParams:
        if self.style is not None and self.styles is not None:
            raise ValueError("give `style` (with style_scale) or `styles`, not both")
        names = [s.name for s in self.styles or []]
        if len(set(names)) != len(names):
            raise ValueError("styles: each style may appear once")
        if self.preview:
            # The LCM-LoRA model card's range; unset knobs get its defaults.
            if "steps" not in self.model_fields_set:
                self.steps = PREVIEW_STEPS[0]  # type: ignore[attr-defined]
            if "guidance_scale" not in self.model_fields_set:
                self.guidance_scale = PREVIEW_GUIDANCE[0]  # type: ignore[attr-defined]
            low, high = PREVIEW_STEPS
            if not low <= getattr(self, "steps", low) <= high:
                raise ValueError(f"preview: steps must be {low}-{high} (the LCM scheduler's range)")
            low_g, high_g = PREVIEW_GUIDANCE
            if not low_g <= getattr(self, "guidance_scale", low_g) <= high_g:
                raise ValueError(f"preview: guidance_scale must be {low_g}-{high_g}")
            steps, strength = getattr(self, "steps", 1), getattr(self, "strength", 1.0)
            if getattr(self, "init_image", None) is not None and int(steps * strength) == 0:
                raise ValueError(
                    f"preview: {steps} steps at strength={strength} leave no denoising step"
                )
        return self


class GenerateRequest(GenerationParams, PakemParams, StyleParams):
    prompt: str = Field(
        min_length=1,
        max_length=2000,
        description="What to generate; not blank.",
        json_schema_extra={"pattern": NOT_BLANK},  # for generators; _check_runnable checks it
    )
    init_image: Base64Image | None = Field(
        None, description="Reference for img2img; without it the service runs txt2img."
    )
    width: int = Field(
        512,
        ge=64,
        le=MAX_SIDE,
        description="A multiple of 8; with a symmetry, equal to height.",
        json_schema_extra={"multipleOf": SIDE_MULTIPLE},  # for generators; _check_runnable checks
    )
    height: int = Field(
        512,
        ge=64,
        le=MAX_SIDE,
        description="A multiple of 8; with a symmetry, equal to width.",
        json_schema_extra={"multipleOf": SIDE_MULTIPLE},
    )
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

    model_config = {
        "json_schema_extra": {
            "allOf": [STYLE_OR_STYLES, PREVIEW_RANGES, REPEAT_NEEDS_TILE, CONTROL_NEEDS_AN_IMAGE]
        }
    }

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
            if getattr(self, name) % SIDE_MULTIPLE:
                raise ValueError(f"{name} must be a multiple of 8 (SD's VAE downsamples by 8)")
        if self.init_image is not None:
            check_denoising_steps(self.steps, self.strength)
        if not self.prompt.strip():
            raise ValueError("prompt is blank")
        return self


class AppliedStyle(BaseModel):
    name: str
    scale: float
    version: str


class StyleInfo(BaseModel):
    name: str
    base_model: str = Field(description="The model it was trained on (source).")
    base_version: str
    rank: int
    trigger_words: list[str] = Field(description="Put them in the prompt to call the style up.")
    version: str = Field(description="Content version of the style folder.")
    fused: bool = Field(False, description="The default style, fused into the weights at load.")


class StyleList(BaseModel):
    styles: list[StyleInfo]
    default: str | None = Field(None, description="GENERATION_STYLE: fused at load.")
    preview: bool = Field(False, description="Whether `preview: true` is available.")


class SkippedStyle(BaseModel):
    folder: str
    reason: str


class StyleReload(StyleList):
    added: list[str]
    removed: list[str]
    skipped: list[SkippedStyle]


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
    repeat: SeamlessRepeatName | None = Field(
        None, description="With tile: the repeat the tile is seamless in."
    )
    control_scale: float | None = None
    model_version: str | None = Field(
        None,
        description="Base model version, plus the default style fused at load and the styles this "
        "answer used (name@version:scale), plus preview.",
    )
    styles: list[AppliedStyle] = Field(
        default_factory=list, description="The styles this answer used, with their versions."
    )
    preview: bool = False


class GenerateResponse(GenerationSummary):
    images: list[str] = Field(description="Base64 PNG images.")


class GenerateJobResult(GenerationSummary):
    images: list[str] = Field(description="Paths of the PNGs: GET /v1/jobs/{id}/images/{n}.")


class GenerationJob(JobRecord):
    result: GenerateJobResult | None = None  # type: ignore[assignment]


# Every layout of services/common/repeats.py (Repeat); an upscale keeps any of them.
RepeatName = Literal["none", "full", "half_drop", "half_brick", "mirror"]
# Longest side an upscale may ask for; the pixel cap (GENERATION_MAX_IMAGE_PIXELS) bounds the area.
MAX_UPSCALE_SIDE = 16384
MAX_UPSCALE_FACTOR = 8.0


# `factor`, or `width` and `height`: never both kinds, never one side alone.
UPSCALE_SIZE = {
    "anyOf": [
        {**present("factor"), "not": {"anyOf": [present("width"), present("height")]}},
        {**present("width", "height"), "not": present("factor")},
    ]
}


class UpscaleRequest(BaseModel):
    """`POST /v1/upscale`: a tile made larger with its repeat as wrap-around context."""

    model_config = {"json_schema_extra": {"allOf": [UPSCALE_SIZE]}}

    image: Base64Image = Field(description="The tile (base64 PNG/JPEG/WebP).")
    repeat: RepeatName = Field(
        "full",
        description="The layout whose seams the result keeps: none (the tile alone), full, "
        "half_drop, half_brick, mirror.",
    )
    width: int | None = Field(None, ge=1, le=MAX_UPSCALE_SIDE, description="Target width (px).")
    height: int | None = Field(None, ge=1, le=MAX_UPSCALE_SIDE, description="Target height (px).")
    factor: float | None = Field(
        None,
        gt=0,
        le=MAX_UPSCALE_FACTOR,
        description="Instead of width and height: both sides times this (rounded to whole px).",
    )
    prompt: str = Field(
        "batik nitik motif",
        min_length=1,
        max_length=1000,
        description="Diffusion upscaler only: the text its detail follows.",
    )
    steps: int = Field(20, ge=1, le=150, description="Diffusion upscaler only: denoising steps.")
    noise_level: int = Field(
        20, ge=0, le=350, description="Diffusion upscaler only: noise added to the input first."
    )
    guidance_scale: float = Field(9.0, ge=0.0, le=30.0, description="Diffusion upscaler only.")
    seed: Seed | None = Field(None, description="Diffusion upscaler only; omit for a random seed.")

    @model_validator(mode="after")
    def _check_size(self) -> UpscaleRequest:
        sized = self.width is not None or self.height is not None
        if self.factor is not None and sized:
            raise ValueError("give `factor` or `width` and `height`, not both")
        if self.factor is None and (self.width is None or self.height is None):
            raise ValueError("give `width` and `height` (px), or `factor`")
        return self

    def target_size(self, tile_width: int, tile_height: int) -> tuple[int, int]:
        if self.factor is not None:
            return max(1, round(tile_width * self.factor)), max(1, round(tile_height * self.factor))
        return self.width, self.height  # type: ignore[return-value]


class UpscaleResponse(BaseModel):
    image: str = Field(description="The upscaled tile, base64 PNG.")
    width: int
    height: int
    repeat: RepeatName
    method: Literal["diffusion", "lanczos"] = Field(
        description="diffusion: GENERATION_UPSCALER, then Lanczos to the exact size; lanczos: no "
        "upscaler here, a mirror repeat, or a target no larger than the tile."
    )
    model: str | None = Field(None, description="The diffusion upscaler's source, when it ran.")
    seed: int | None = Field(None, description="The seed the diffusion upscaler ran with.")
