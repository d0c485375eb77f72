"""Pakem figures on the tiny SD 1.5: seam ratio with and without `tile`, symmetry error with and
without `c4` / `d4`, at 64 and 128 px over several seeds, all measured in one run.

    python -m benchmarks.pakem [--seeds 4]

The properties come from the structure of the computation (circular padding, group projection), so
random weights measure them honestly; no GPU is needed.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import torch

from services.common.repeats import seam_ratio
from services.common.tiny import build_tiny_sd
from services.generation.pakem import (
    circular_padding,
    finish_image,
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

    def generate(size: int, seed: int, tile: bool, group: str) -> np.ndarray:
        kwargs = dict(
            prompt="batik nitik dotted flower",
            num_inference_steps=10,
            height=size,
            width=size,
            generator=torch.Generator("cpu").manual_seed(seed),
            callback_on_step_end=symmetry_callback(group),
        )
        if tile:
            with circular_padding(pipe.unet, pipe.vae):
                image = pipe(**kwargs).images[0]
        else:
            image = pipe(**kwargs).images[0]
        return np.asarray(finish_image(image, group))

    print(f"tiny SD 1.5, 10 steps, seeds 0..{args.seeds - 1}; mean over seeds\n")
    print(
        f"{'size':>5} {'seam plain':>11} {'seam tile':>10} {'ratio':>7}   "
        f"{'c4 err plain':>12} {'c4 err':>7} {'d4 err plain':>12} {'d4 err':>7}"
    )
    for size in (64, 128):
        seeds = range(args.seeds)
        plain = [generate(size, s, False, "none") for s in seeds]
        seam_plain = np.mean([seam_ratio(a) for a in plain])
        seam_tile = np.mean([seam_ratio(generate(size, s, True, "none")) for s in seeds])
        c4_plain = np.mean([symmetry_error(a, "c4") for a in plain])
        d4_plain = np.mean([symmetry_error(a, "d4") for a in plain])
        c4 = np.mean([symmetry_error(generate(size, s, False, "c4"), "c4") for s in seeds])
        d4 = np.mean([symmetry_error(generate(size, s, False, "d4"), "d4") for s in seeds])
        print(
            f"{size:>5} {seam_plain:>11.3f} {seam_tile:>10.3f} {seam_plain / seam_tile:>6.1f}x   "
            f"{c4_plain:>12.2f} {c4:>7.3f} {d4_plain:>12.2f} {d4:>7.3f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
