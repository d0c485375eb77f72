"""Generation benchmark: img2img at 512x512, strength 0.55, 30 and 50 steps, with each GPU option on
and off, as ratios measured in one run.

    python -m benchmarks.generation [--repeat 3]                 # tiny random SD, here (CPU or GPU)
    python -m benchmarks.generation --full-size [--compile]      # SD 1.5 architecture, random weights

`--full-size` builds the SD 1.5 UNet, VAE and text encoder from their published configurations with
random weights: the same layers and FLOPs as the real model, no download. Per guided step SD 1.5 costs
about 1.6 TFLOP, so 50 steps at strength 0.55 (27 UNet steps plus the VAE) is about 47 TFLOP. Every
variant runs through `SdGenerator` (the service's engine: its lock, per-request scheduler, prompt
handling) and `accelerate` (the service's GPU options). On a CPU only fp32 variants run, and
channels_last is a CUDA option.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

from PIL import Image

from services.common.contracts.generation import GenerateRequest
from services.generation.acceleration import Acceleration
from services.generation.generator import SdGenerator


@dataclass(frozen=True)
class Variant:
    name: str
    dtype: str  # float16 / float32
    options: Acceleration


def variants(device: str, with_compile: bool) -> list[Variant]:
    best = Acceleration(sdpa=True, channels_last=True)
    if device != "cuda":
        return [
            Variant("fp32 sdpa", "float32", best),
            Variant("fp32 classic attention", "float32", replace(best, sdpa=False)),
        ]
    rows = [
        Variant("fp16 sdpa channels_last (default)", "float16", best),
        Variant("fp32 instead of fp16", "float32", best),
        Variant("classic attention instead of sdpa", "float16", replace(best, sdpa=False)),
        Variant("without channels_last", "float16", replace(best, channels_last=False)),
        Variant(
            "+ vae slicing + tiling", "float16", replace(best, vae_slicing=True, vae_tiling=True)
        ),
        Variant(
            "all off (fp32, classic, no channels_last)",
            "float32",
            Acceleration(sdpa=False, channels_last=False),
        ),
    ]
    if with_compile:
        rows.append(Variant("+ torch.compile", "float16", replace(best, compile=True)))
    return rows


def build_full_size(device: str, dtype: str, options: Acceleration, tokenizer_dir: Path):
    """SD 1.5 from its published configs (tests/fixtures/real_configs), in memory, random weights."""
    import torch
    from diffusers import (
        AutoencoderKL,
        PNDMScheduler,
        StableDiffusionImg2ImgPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    from services.common.fullsize.hubfiles import REAL_CONFIGS, read_json
    from services.common.fullsize.sd import SD_REPO, sd15_config

    tokenizer = CLIPTokenizer.from_pretrained(str(tokenizer_dir))
    torch.manual_seed(0)
    with torch.device(device):  # initialise on the GPU: minutes faster than on a CPU
        unet = UNet2DConditionModel.from_config(sd15_config("unet"))
        vae = AutoencoderKL.from_config(sd15_config("vae"))
        text_encoder = CLIPTextModel(CLIPTextConfig(**sd15_config("text_encoder")))
    # SD 1.5 ships PNDM; the service would build a fresh one per request from this config.
    scheduler = PNDMScheduler.from_config(
        read_json(REAL_CONFIGS / SD_REPO / "scheduler" / "scheduler_config.json")
    )
    pipe = StableDiffusionImg2ImgPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    ).to(device, getattr(torch, dtype))
    params = sum(p.numel() for m in (unet, vae, text_encoder) for p in m.parameters())
    print(f"  built SD 1.5 architecture with random weights: {params / 1e6:.0f} M parameters")
    return SdGenerator("sd15-random", pipeline=pipe, acceleration=options)


def time_img2img(engine: SdGenerator, steps: int, repeat: int, size: int) -> list[float]:
    init = Image.effect_noise((size, size), 64).convert("RGB")
    request = GenerateRequest(
        prompt="batik nitik, dotted geometric motif, brown and cream",
        steps=steps,
        strength=0.55,
        width=size,
        height=size,
        seed=0,
    )
    engine.generate(request, init)  # warm-up: kernel selection, compilation
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        engine.generate(request, init)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--full-size", action="store_true", help="SD 1.5 architecture, random weights"
    )
    parser.add_argument("--compile", action="store_true", help="add a torch.compile variant")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--steps", type=int, nargs="+", default=[30, 50])
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    args = parser.parse_args()

    import torch

    from services.common.fullsize.sd import write_sd15_tokenizer
    from services.common.models import resolve_device
    from services.common.tiny import build_tiny_sd

    device = resolve_device(args.device)
    work = Path(tempfile.mkdtemp(prefix="batik-bench-generation-"))
    print(
        f"device {device}"
        + (f" ({torch.cuda.get_device_name()})" if device == "cuda" else "")
        + f", torch {torch.__version__}, {'SD 1.5 full size' if args.full_size else 'tiny SD'}, "
        f"img2img {args.size}x{args.size} strength 0.55, repeat {args.repeat}"
    )
    if args.full_size:
        write_sd15_tokenizer(work / "tokenizer")
    else:
        tiny = build_tiny_sd(work / "sd")

    results: dict[tuple[str, int], float] = {}
    rows = variants(device, args.compile)
    for variant in rows:
        print(f"- {variant.name}")
        if args.full_size:
            engine = build_full_size(device, variant.dtype, variant.options, work / "tokenizer")
        else:
            engine = SdGenerator(
                str(tiny), device=device, dtype=variant.dtype, acceleration=variant.options
            )
        for steps in args.steps:
            if device == "cuda":
                torch.cuda.reset_peak_memory_stats()
            samples = time_img2img(engine, steps, args.repeat, args.size)
            p50 = statistics.median(samples)
            results[(variant.name, steps)] = p50
            memory = (
                f"   peak {torch.cuda.max_memory_allocated() / 2**30:5.2f} GiB"
                if device == "cuda"
                else ""
            )
            unet_steps = int(steps * 0.55)
            print(
                f"    {steps} steps ({unet_steps} UNet steps): p50 {p50:9.1f} ms"
                f"   {p50 / unet_steps:7.2f} ms/step{memory}"
            )
        del engine
        if device == "cuda":
            torch.cuda.empty_cache()

    baseline = rows[0].name
    print(f"\nratios to '{baseline}' (same run; >1 = slower):")
    for variant in rows[1:]:
        ratios = "  ".join(
            f"{s} steps {results[(variant.name, s)] / results[(baseline, s)]:5.2f}x"
            for s in args.steps
        )
        print(f"  {variant.name:<44} {ratios}")
    if len(args.steps) == 2:
        low, high = args.steps
        measured = results[(baseline, high)] / results[(baseline, low)]
        expected = int(high * 0.55) / int(low * 0.55)
        print(
            f"{high} vs {low} steps: {measured:.2f}x (UNet steps alone would give {expected:.2f}x; "
            "the rest is the VAE, text encoder and per-call overhead)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
