"""Generation service wire contract: Stable Diffusion img2img (with `init_image`) or txt2img."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, model_validator

from services.common.contracts.common import Base64Image, Seed

MAX_SIDE = 1024


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


class GenerateRequest(GenerationParams):
    prompt: str = Field(min_length=1, max_length=2000)
    init_image: Base64Image | None = Field(
        None, description="Reference for img2img; without it the service runs txt2img."
    )
    width: int = Field(512, ge=64, le=MAX_SIDE, description="A multiple of 8.")
    height: int = Field(512, ge=64, le=MAX_SIDE, description="A multiple of 8.")

    @model_validator(mode="after")
    def _check_runnable(self) -> GenerateRequest:
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


class GenerateResponse(BaseModel):
    images: list[str] = Field(description="Base64 PNG images.")
    seed: int
    mode: Literal["img2img", "txt2img"]
    prompt_tokens: int = Field(description="Tokens of the prompt under the SD text tokenizer.")
    truncated: bool = Field(description="True when the prompt was cut to the 77-token window.")
    model: str
