"""GPU speed and memory options for a Stable Diffusion pipeline, shared by the service and the benchmark.

- SDPA: `torch.nn.functional.scaled_dot_product_attention` (flash / memory-efficient kernels on CUDA);
  off means diffusers' classic attention, kept to measure what SDPA buys.
- channels_last: NHWC memory layout for the UNet and VAE convolutions (faster with tensor cores).
- VAE slicing decodes a batch one image at a time; tiling decodes large images in overlapping tiles:
  both trade a little speed for peak memory.
- torch.compile of the UNet: slow first call (the warm-up pays it), faster steps after.
- CUDA out-of-memory fails the one request (`OutOfGpuMemoryError`: 503 `out_of_memory`), empties the allocator's cache, and the service
  keeps serving.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from services.common.errors import OutOfGpuMemoryError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Acceleration:
    sdpa: bool = True
    channels_last: bool = True  # applies on CUDA only
    vae_slicing: bool = False
    vae_tiling: bool = False
    compile: bool = False
    compile_mode: str = "max-autotune-no-cudagraphs"


def accelerate(pipe: Any, options: Acceleration, device: str) -> list[str]:
    """Apply `options` to `pipe` in place; returns what was applied (for /readyz and the benchmark)."""
    import torch
    from diffusers.models.attention_processor import AttnProcessor, AttnProcessor2_0

    applied = []
    processor = AttnProcessor2_0 if options.sdpa else AttnProcessor
    pipe.unet.set_attn_processor(processor())
    pipe.vae.set_attn_processor(processor())
    applied.append("sdpa" if options.sdpa else "classic-attention")
    if options.channels_last and device == "cuda":
        pipe.unet.to(memory_format=torch.channels_last)
        pipe.vae.to(memory_format=torch.channels_last)
        applied.append("channels_last")
    if options.vae_slicing:
        pipe.vae.enable_slicing()
        applied.append("vae_slicing")
    if options.vae_tiling:
        pipe.vae.enable_tiling()
        applied.append("vae_tiling")
    if options.compile:
        pipe.unet = torch.compile(pipe.unet, mode=options.compile_mode)
        applied.append(f"compile:{options.compile_mode}")
    return applied


@contextmanager
def cuda_oom_guard() -> Iterator[None]:
    """Turn a CUDA out-of-memory error into `OutOfGpuMemoryError` for this request, and free the cached memory.

    The cache is emptied after the `except` block: inside it, the traceback still holds the failed
    call's tensors."""
    import torch

    failed = False
    try:
        yield
    except torch.OutOfMemoryError as exc:
        log.warning("out of GPU memory: %s", str(exc).splitlines()[0] if str(exc) else exc)
        failed = True
    if failed:
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        raise OutOfGpuMemoryError(
            "out of GPU memory for this request; retry, or ask for fewer images or a smaller size"
        )
