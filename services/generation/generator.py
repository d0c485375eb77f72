"""Stable Diffusion 1.5: img2img from a reference image, or txt2img from the same loaded weights."""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass

from PIL import Image

from services.common.contracts.generation import GenerateRequest
from services.common.models import resolve_device, resolve_dtype, resolve_source, source_version


@dataclass(frozen=True)
class Generation:
    images: list[Image.Image]
    seed: int
    mode: str
    prompt_tokens: int
    truncated: bool


class SdGenerator:
    def __init__(
        self, source: str, *, device: str = "auto", dtype: str = "auto", variant: str | None = None
    ) -> None:
        import torch
        from diffusers import StableDiffusionImg2ImgPipeline, StableDiffusionPipeline

        self.source = source
        self.version = source_version(source)
        self.device = resolve_device(device)
        self.dtype = resolve_dtype(self.device, dtype)
        img2img = StableDiffusionImg2ImgPipeline.from_pretrained(
            resolve_source(source),
            dtype=self.dtype,
            variant=variant,
            safety_checker=None,
            feature_extractor=None,
            requires_safety_checker=False,
        ).to(self.device)
        if self.device == "cuda":
            img2img.unet.to(memory_format=torch.channels_last)
        img2img.set_progress_bar_config(disable=True)
        self.img2img = img2img
        # Shares every component with img2img: no second copy of the weights.
        self.txt2img = StableDiffusionPipeline.from_pipe(img2img)
        self.txt2img.set_progress_bar_config(disable=True)
        self.tokenizer = img2img.tokenizer
        # One diffusers pipeline is not safe to call from two threads: its scheduler holds state.
        self._lock = threading.Lock()
        self._torch = torch

    def count_tokens(self, prompt: str) -> tuple[int, bool]:
        """Tokens of `prompt` (with BOS/EOS) and whether the 77-token window cuts it."""
        ids = self.tokenizer(prompt, truncation=False)["input_ids"]
        return len(ids), len(ids) > self.tokenizer.model_max_length

    def generate(self, request: GenerateRequest, init_image: Image.Image | None) -> Generation:
        seed = request.seed if request.seed is not None else secrets.randbelow(2**32)
        # A CPU generator gives the same noise on every device, so a seed means the same image.
        generator = self._torch.Generator("cpu").manual_seed(seed)
        common = dict(
            prompt=request.prompt,
            negative_prompt=request.negative_prompt,
            guidance_scale=request.guidance_scale,
            num_inference_steps=request.steps,
            generator=generator,
            output_type="pil",
        )
        with self._lock, self._torch.inference_mode():
            if init_image is not None:
                init = init_image.resize((request.width, request.height), Image.Resampling.BICUBIC)
                output = self.img2img(image=init, strength=request.strength, **common)
            else:
                output = self.txt2img(width=request.width, height=request.height, **common)
        tokens, truncated = self.count_tokens(request.prompt)
        return Generation(
            images=list(output.images),
            seed=seed,
            mode="img2img" if init_image is not None else "txt2img",
            prompt_tokens=tokens,
            truncated=truncated,
        )

    def describe(self) -> dict:
        return {"model": self.source, "model_version": self.version, "device": self.device}
