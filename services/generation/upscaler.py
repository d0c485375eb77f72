"""Upscaling a tile so that its seam holds: diffusers' StableDiffusionUpscalePipeline (the x4
upscaler) with the tile's repeat as wrap-around context, or Lanczos with its repeat neighbours.

The diffusion upscaler draws new detail from noise. Padding the tile with its neighbours, upscaling
and cropping would give the two sides of a seam detail drawn from different noise, and the seam would
open again by that much. So the context goes in where the detail is made: every convolution of the
upscaler's UNet and VAE pads with the tile's repeat neighbours for the call (`pakem.repeat_padding`,
as seamless generation does), which is the pad-upscale-crop recipe with the whole repeat as the pad,
at the tile's own cost. The result is exactly one period of an upscaled repeat; Lanczos with the
neighbours (services/common/upscaling.py) then takes it to the size asked for.

`mirror` is resampled with Lanczos alone: its seams are continuous by reflection, and a network of
non-symmetric kernels is not mirror-equivariant, so no padding makes its detail meet its mirror image.
"""

from __future__ import annotations

import threading
from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np
from PIL import Image

from services.common.models import resolve_device, resolve_dtype, resolve_source, source_version
from services.common.repeats import SEAMLESS_REPEATS, Repeat
from services.common.upscaling import check_target, lanczos_upscale
from services.generation.acceleration import cuda_oom_guard
from services.generation.pakem import offset_unit, repeat_padding


@dataclass(frozen=True)
class Upscaled:
    image: np.ndarray  # H x W x 3 uint8
    method: str  # "diffusion" or "lanczos"
    seed: int | None = None


@dataclass(frozen=True)
class DiffusionOptions:
    prompt: str
    steps: int
    noise_level: int
    guidance_scale: float
    seed: int


class SeamUpscaler:
    """One StableDiffusionUpscalePipeline. `lock` is the generation engine's pipeline lock when both
    share a device: one model call at a time there."""

    def __init__(
        self,
        source: str,
        *,
        device: str = "auto",
        dtype: str = "auto",
        revision: str | None = None,
        lock: threading.Lock | None = None,
    ) -> None:
        import torch
        from diffusers import StableDiffusionUpscalePipeline

        resolved = resolve_device(device)
        self.pipeline = StableDiffusionUpscalePipeline.from_pretrained(
            resolve_source(source), dtype=resolve_dtype(resolved, dtype), revision=revision
        ).to(resolved)
        self.pipeline.set_progress_bar_config(disable=True)
        self.source = source
        self.version = source_version(source, revision)
        self.lock = lock or threading.Lock()
        self._torch = torch
        # The latents are the input's size; the VAE decodes them `factor` times larger.
        self.factor = self.pipeline.vae_scale_factor
        levels = len(self.pipeline.unet.config.block_out_channels)
        # Latents = input pixels here (no VAE encoder on the way in): the UNet needs multiples of
        # 2^(levels - 1), a half offset twice that; the pipeline's preprocessing cuts sizes down to
        # multiples of the factor. All powers of two, so the largest is a multiple of the others.
        self.unit = max(2 ** (levels - 1), self.factor)
        self.offset_unit = max(offset_unit(1, levels), self.factor)

    def model_input_size(self, repeat: Repeat, width: int, height: int) -> tuple[int, int]:
        """The nearest size at or above (width, height) the UNet takes in this repeat."""

        def up(side: int, unit: int) -> int:
            return -(-side // unit) * unit

        return (
            up(width, self.offset_unit if repeat == Repeat.HALF_BRICK else self.unit),
            up(height, self.offset_unit if repeat == Repeat.HALF_DROP else self.unit),
        )

    def upscale(self, tile: np.ndarray, repeat: Repeat, options: DiffusionOptions) -> np.ndarray:
        """`tile` (H x W x 3 uint8, a size `model_input_size` accepts) `factor` times larger, one
        period of the repeat (plain zero padding for `none`)."""
        generator = self._torch.Generator("cpu").manual_seed(options.seed)
        modules = (self.pipeline.unet, self.pipeline.vae)
        # The repeat's padding only for this call, under the lock.
        padding = repeat_padding(repeat.value, *modules) if repeat in SEAMLESS_REPEATS else None
        with self.lock, self._torch.inference_mode(), cuda_oom_guard(), padding or nullcontext():
            output = self._call(tile, options, generator)
        return np.asarray(output.convert("RGB"))

    def _call(self, tile: np.ndarray, options: DiffusionOptions, generator) -> Image.Image:
        return self.pipeline(
            prompt=options.prompt,
            image=Image.fromarray(tile),
            num_inference_steps=options.steps,
            noise_level=options.noise_level,
            guidance_scale=options.guidance_scale,
            generator=generator,
        ).images[0]

    def describe(self) -> dict:
        return {
            "method": "diffusion",
            "model": self.source,
            "version": self.version,
            "factor": self.factor,
            "device": self.pipeline.device.type,
            "dtype": str(self.pipeline.unet.dtype).removeprefix("torch."),
        }


def upscale_tile(
    upscaler: SeamUpscaler | None,
    tile: np.ndarray,
    repeat: Repeat | str,
    width: int,
    height: int,
    options: DiffusionOptions,
) -> Upscaled:
    """`tile` at `width` x `height`, its seam kept in `repeat`: through the diffusion upscaler when
    there is one, the repeat is not `mirror` and the target is larger than the tile; else Lanczos.

    Raises ValueError for a size the repeat cannot keep (check_target)."""
    repeat = Repeat(repeat)
    check_target(tile.shape, repeat, width, height)
    tile_h, tile_w = tile.shape[:2]
    enlarging = width > tile_w or height > tile_h
    if upscaler is None or repeat == Repeat.MIRROR or not enlarging:
        return Upscaled(lanczos_upscale(tile, repeat, width, height), "lanczos")
    in_w, in_h = upscaler.model_input_size(repeat, tile_w, tile_h)
    check_target(tile.shape, repeat, in_w, in_h)
    source = tile if (in_w, in_h) == (tile_w, tile_h) else lanczos_upscale(tile, repeat, in_w, in_h)
    large = upscaler.upscale(source, repeat, options)
    if large.shape[:2] != (height, width):
        large = lanczos_upscale(large, repeat, width, height)
    return Upscaled(large, "diffusion", options.seed)
