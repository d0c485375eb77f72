"""Upscaling that keeps the seam: the seam ratio of seamless tiles from the tiny SD (tile + repeat)
after Lanczos with the repeat's neighbours against a plain Lanczos resize, in each seamless repeat;
and the time and peak memory of a 512 px tile taken to 2362 px (20 cm at 300 dpi) with Lanczos and,
at a small size, through the tiny x4 upscaler. All measured in one run.

    python -m benchmarks.upscaling [--seeds 3]

The seams come from structure (the repeat's padding, Lanczos over the tile's box inside its
neighbours), so random weights measure them honestly; the tiny upscaler's time says nothing about
the real x4 upscaler's, only that the path runs.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from services.common.repeats import SEAMLESS_REPEATS, seam_ratio
from services.common.tiny import build_tiny_sd, build_tiny_upscaler
from services.common.upscaling import lanczos_upscale
from services.generation.pakem import repeat_padding
from services.generation.upscaler import DiffusionOptions, SeamUpscaler, upscale_tile

# The ratio of the export: a 512 px tile to 20 cm at 300 dpi.
EXPORT_RATIO = 2362 / 512


def _peak(fn):
    """(result, seconds, peak MiB of Python-tracked allocations: NumPy and Pillow buffers)."""
    tracemalloc.start()
    started = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return result, seconds, peak


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)

    from diffusers import StableDiffusionPipeline

    root = Path(tempfile.mkdtemp(prefix="batik-upscaling-"))
    pipe = StableDiffusionPipeline.from_pretrained(
        str(build_tiny_sd(root / "sd")), safety_checker=None, requires_safety_checker=False
    )
    pipe.set_progress_bar_config(disable=True)

    def tile(repeat: str, seed: int, size: int = 128) -> np.ndarray:
        with repeat_padding(repeat, pipe.unet, pipe.vae):
            image = pipe(
                prompt="batik nitik dotted flower",
                num_inference_steps=10,
                height=size,
                width=size,
                generator=torch.Generator("cpu").manual_seed(seed),
            ).images[0]
        return np.asarray(image)

    side = round(128 * EXPORT_RATIO / 2) * 2  # even: the half offsets stay whole
    print(f"tiny SD tiles, 128 px -> {side} px (x{EXPORT_RATIO:.2f}), seeds 0..{args.seeds - 1}\n")
    print(f"{'repeat':>11} {'tile':>7} {'lanczos + neighbours':>21} {'plain resize':>13}")
    for repeat in SEAMLESS_REPEATS:
        tiles = [tile(repeat, seed) for seed in range(args.seeds)]
        before = np.mean([seam_ratio(t, repeat) for t in tiles])
        kept = np.mean([seam_ratio(lanczos_upscale(t, repeat, side, side), repeat) for t in tiles])
        plain = np.mean(
            [
                seam_ratio(
                    np.asarray(Image.fromarray(t).resize((side, side), Image.LANCZOS)), repeat
                )
                for t in tiles
            ]
        )
        print(f"{repeat:>11} {before:>7.3f} {kept:>21.3f} {plain:>13.3f}")

    big = np.asarray(Image.fromarray(tile("half_drop", 0)).resize((512, 512), Image.LANCZOS))
    _, seconds, peak = _peak(lambda: lanczos_upscale(big, "half_drop", 2362, 2362))
    print(
        f"\nlanczos_upscale 512 -> 2362 px, half_drop: {seconds:.2f} s, peak {peak:.0f} MiB "
        f"(the result alone: {2362 * 2362 * 3 / 2**20:.0f} MiB)"
    )

    upscaler = SeamUpscaler(str(build_tiny_upscaler(root / "upscaler")), device="cpu")
    small = tile("half_drop", 0, size=64)
    options = DiffusionOptions("batik nitik", steps=20, noise_level=20, guidance_scale=9.0, seed=0)
    _, seconds, _ = _peak(lambda: upscale_tile(upscaler, small, "half_drop", 296, 296, options))
    print(
        f"tiny x4 upscaler 64 -> 256 px, then Lanczos to 296 px, half_drop, 20 steps: {seconds:.2f} s"
    )
    print(
        f"\ntiny x4 upscaler, 64 -> 256 px, seeds 0..{args.seeds - 1}: seam ratio of the 4x output"
    )
    print(f"{'repeat':>11} {'repeat padding':>15} {'plain upscaler':>15}")
    for repeat in SEAMLESS_REPEATS:
        padded, plain = [], []
        for seed in range(args.seeds):
            options = DiffusionOptions("batik nitik", 20, 20, 9.0, seed)
            source = tile(repeat, seed, size=64)
            padded.append(seam_ratio(upscaler.upscale(source, repeat, options), repeat))
            generator = torch.Generator("cpu").manual_seed(seed)
            with torch.inference_mode():
                alone = np.asarray(upscaler._call(source, options, generator))
            plain.append(seam_ratio(alone, repeat))
        print(f"{repeat:>11} {np.mean(padded):>15.3f} {np.mean(plain):>15.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
