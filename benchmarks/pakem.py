"""Pakem figures on the tiny SD 1.5: seam ratio with and without `tile` in each seamless repeat
(full, half_drop, half_brick: taken across that repeat's own seams), symmetry error with and without
`c4` / `d4`, at 64 and 128 px over several seeds, all measured in one run.

    python -m benchmarks.pakem [--seeds 4]

The properties come from the structure of the computation (the repeat's padding, group projection), so
random weights measure them honestly; no GPU is needed.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import torch

from services.common.repeats import SEAMLESS_REPEATS, seam_ratio
from services.common.tiny import build_tiny_sd
from services.generation.pakem import (
    finish_image,
    repeat_padding,
    symmetry_callback,
    symmetry_error,
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=4)
    args = parser.parse_args()
    torch.set_num_threads(1)

    from diffusers import StableDiffusionPipeline

    sd = build_tiny_sd(Path(tempfile.mkdtemp(prefix="batik-pakem-")) / "sd")
    pipe = StableDiffusionPipeline.from_pretrained(
        str(sd), safety_checker=None, requires_safety_checker=False
    )
    pipe.set_progress_bar_config(disable=True)

    def generate(size: int, seed: int, tile: str | None, group: str) -> np.ndarray:
        kwargs = dict(
            prompt="batik nitik dotted flower",
            num_inference_steps=10,
            height=size,
            width=size,
            generator=torch.Generator("cpu").manual_seed(seed),
            callback_on_step_end=symmetry_callback(group),
        )
        if tile:
            with repeat_padding(tile, pipe.unet, pipe.vae):
                image = pipe(**kwargs).images[0]
        else:
            image = pipe(**kwargs).images[0]
        return np.asarray(finish_image(image, group))

    print(f"tiny SD 1.5, 10 steps, seeds 0..{args.seeds - 1}; mean over seeds\n")
    seeds = range(args.seeds)
    plain = {size: [generate(size, s, None, "none") for s in seeds] for size in (64, 128)}
    print(f"{'size':>5} {'repeat':>11} {'seam plain':>11} {'seam tile':>10}")
    for size in (64, 128):
        for repeat in SEAMLESS_REPEATS:
            seam_plain = np.mean([seam_ratio(a, repeat) for a in plain[size]])
            tiled = [generate(size, s, repeat, "none") for s in seeds]
            seam_tile = np.mean([seam_ratio(a, repeat) for a in tiled])
            print(f"{size:>5} {repeat:>11} {seam_plain:>11.3f} {seam_tile:>10.3f}")
    print(f"\n{'size':>5} {'c4 err plain':>12} {'c4 err':>7} {'d4 err plain':>12} {'d4 err':>7}")
    for size in (64, 128):
        c4_plain = np.mean([symmetry_error(a, "c4") for a in plain[size]])
        d4_plain = np.mean([symmetry_error(a, "d4") for a in plain[size]])
        c4 = np.mean([symmetry_error(generate(size, s, None, "c4"), "c4") for s in seeds])
        d4 = np.mean([symmetry_error(generate(size, s, None, "d4"), "d4") for s in seeds])
        print(f"{size:>5} {c4_plain:>12.2f} {c4:>7.3f} {d4_plain:>12.2f} {d4:>7.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
