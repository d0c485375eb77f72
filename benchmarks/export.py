"""Export: time and peak memory of a 20 cm, 300 dpi half-drop page from a 512 px tile (PNG through
Lanczos with the repeat's neighbours, and PNG through the tiny SD x4 upscaler), of the nitik dot grid
SVG of the same size, and of the largest 600 dpi page the default pixel cap allows, each in a fresh
process; with the seam ratio of each page's period. All in one run. (The tiny upscaler's case starts
from a 128 px tile: see CASES.)

    python -m benchmarks.export
    python -m benchmarks.export --upscaler-512   # the tiny upscaler from the 512 px tile itself

Peak memory is the child's VmHWM (/proc/self/status) minus its VmRSS after imports and the tile: what
the export itself added at its peak. The tiny upscaler's time says nothing of the real x4 upscaler's
(random weights, a few channels), only that the path runs and what the page costs around it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

CHILD = r"""
import io, json, time, tempfile
from pathlib import Path
import numpy as np
from PIL import Image

def vm(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) / 1024
    return 0.0

def seamless(repeat, size=512, seed=0):
    # Plane waves periodic on the repeat's lattice, sharpened: a tile seamless in `repeat`.
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size].astype(float) + 0.5
    field = np.zeros((size, size))
    for _ in range(24):
        m, n = rng.integers(-24, 25, 2)
        kx, ky = m / size, n / size
        if repeat == "half_drop":
            kx = (m - n / 2) / size
        field += np.cos(2 * np.pi * (kx * x + ky * y) + rng.uniform(0, 2 * np.pi))
    field = 1 / (1 + np.exp(-3 * field))
    rgb = np.stack([field, field[::-1], 1 - field], axis=-1)
    return Image.fromarray(np.rint(30 + 195 * rgb).astype(np.uint8))

from services.common.contracts.export import ExportRequest
from services.common.export.engine import render_export
from services.common.export.page import plan_page
from services.common.repeats import seam_ratio

case = CASE
tile = seamless("half_drop", case.get("tile_px", 512))
options = ExportRequest(**case["options"])
upscaled = None
if case.get("upscaler"):
    import torch
    torch.set_num_threads(case.get("threads", 1))
    from services.common.tiny import build_tiny_upscaler
    from services.generation.upscaler import DiffusionOptions, SeamUpscaler, upscale_tile
    upscaler = SeamUpscaler(str(build_tiny_upscaler(Path(tempfile.mkdtemp()) / "up")), device="cpu")
before = vm("VmRSS")
started = time.perf_counter()
plan = plan_page(options, tile.size, 4096 * 4096)
if case.get("upscaler"):
    steps = DiffusionOptions(
        "batik nitik", steps=case.get("steps", 5), noise_level=20, guidance_scale=9.0, seed=0
    )
    big = upscale_tile(upscaler, np.asarray(tile), "half_drop", plan.tile_width, plan.tile_height, steps)
    upscaled = Image.fromarray(big.image)
result = render_export(tile, options, plan, upscaled=upscaled)
seconds = time.perf_counter() - started
out = {"seconds": seconds, "peak_mib": vm("VmHWM") - before, "bytes": len(result.content),
       "headers": result.headers}
if options.format != "svg":
    page = np.asarray(Image.open(io.BytesIO(result.content)).convert("RGB"))
    out["page"] = f"{page.shape[1]}x{page.shape[0]}"
    out["page_mib"] = page.nbytes / 2**20
    out["seam"] = seam_ratio(page[: plan.tile_height, : plan.tile_width], options.repeat)
print(json.dumps(out))
"""

CASES = {
    "png, Lanczos": {"options": {"width_cm": 20, "dpi": 300, "repeat": "half_drop"}},
    "svg (nitik dots, 4 colours)": {
        "options": {"format": "svg", "width_cm": 20, "dpi": 300, "repeat": "half_drop"},
    },
    "png, 600 dpi at the cap (4096 px)": {
        "options": {"width_px": 4096, "dpi": 600, "repeat": "half_drop"},
    },
    # From 512 px the tiny upscaler's self-attention runs over 256 x 256 latents (65k tokens): over
    # ten minutes a step on this shared CPU. A 128 px tile goes x4 to 512 px, then Lanczos.
    "png, tiny SD x4 upscaler, 128 px tile": {
        "options": {"width_cm": 20, "dpi": 300, "repeat": "half_drop"},
        "upscaler": True,
        "tile_px": 128,
    },
}
# `--upscaler-512`: the case itself, from the 512 px tile, in 2 steps on every core (about
# half an hour on this shared 2-core machine: the attention over 65k latent tokens).
UPSCALER_512 = {
    "png, tiny SD x4 upscaler, 512 px tile, 2 steps": {
        "options": {"width_cm": 20, "dpi": 300, "repeat": "half_drop"},
        "upscaler": True,
        "tile_px": 512,
        "steps": 2,
        "threads": os.cpu_count() or 1,
    },
}


def run(case: dict) -> dict:
    code = CHILD.replace("CASE", repr(case))
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=None
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--upscaler-512", action="store_true", help="only the tiny upscaler from a 512 px tile"
    )
    args = parser.parse_args()
    cases = UPSCALER_512 if args.upscaler_512 else CASES
    print("512 px half-drop tile -> 20 cm at 300 dpi (2362 px wide), one fresh process per case\n")
    print(f"{'case':<38} {'time s':>7} {'peak MiB':>9} {'page MiB':>9} {'seam':>6}  file")
    for name, case in cases.items():
        out = run(case)
        headers = out["headers"]
        if "page" in out:
            seam = f"{out['seam']:.3f}"
            page_mib = f"{out['page_mib']:.0f}"
            file = f"{out['page']} px, {out['bytes'] / 2**20:.1f} MiB"
        else:
            seam, page_mib = "-", "-"
            file = (
                f"{headers['X-Dot-Count']} dots, {out['bytes'] / 2**10:.0f} KiB, render "
                f"difference {headers['X-Render-Difference']}"
            )
        print(
            f"{name:<38} {out['seconds']:>7.2f} {out['peak_mib']:>9.0f} {page_mib:>9} {seam:>6}  "
            f"{file}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
