"""Style LoRA benchmark: what a style costs per denoising step (unfused, fused, none), how long a switch
between styles takes, and training speed, as ratios measured in one run.

    python -m benchmarks.styles [--repeat 5]      # tiny random SD, here (CPU or GPU)
    python -m benchmarks.styles --full-size       # CUDA: SD 1.5's shapes with random weights

Serving runs through `SdGenerator` (the service's engine, its lock and `Styles.activate`); training
through `batik finetune-style`'s own components and loss. `--full-size` builds SD 1.5 from its
published configurations (services/common/fullsize/sd.py: the same layers and FLOPs, no download) and
measures seconds per training step and peak memory at 512 px, batch 1 and 4, fp16 and bf16 (LoRA rank
16, gradient checkpointing, the optimizer `batik finetune-style` picks), plus the unfused/fused
per-step ratio when serving.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from services.common.contracts.generation import GenerateRequest
from services.common.models import native_bf16


def _interleaved_median_s(variants: dict, repeat: int) -> dict[str, float]:
    """Median seconds of each callable, timed in alternating rounds so that drift in the machine's
    load (shared cores) falls on every variant alike."""
    for fn in variants.values():
        fn()  # warm-up: kernel selection, allocator
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(repeat):
        for name, fn in variants.items():
            started = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) for name, values in times.items()}


def serving(sd: Path, styles: Path, *, size: int, steps: int, repeat: int) -> dict[str, float]:
    """Seconds per denoising step: the bare model, no style (adapters loaded, disabled), an unfused
    style, and a fused one; and seconds per switch between two styles (`set_adapters`)."""
    from services.generation.generator import SdGenerator

    bare = SdGenerator(str(sd))
    unfused = SdGenerator(str(sd))
    unfused.load_styles(str(styles / "all"), None, None)
    fused = SdGenerator(str(sd))
    fused.load_styles(str(styles / "fused"), "style-a", None)
    base = dict(prompt="batik nitik motif, kawung", width=size, height=size, steps=steps, seed=1)

    def run(engine, **style):
        return lambda: engine.generate(GenerateRequest(**base, **style), None)

    a, b = GenerateRequest(**base, style="style-a"), GenerateRequest(**base, style="style-b")
    switches = 50

    def switch():
        for n in range(switches):
            unfused.styles.activate(a if n % 2 else b)

    seconds = _interleaved_median_s(
        {
            "bare": run(bare),
            "none": run(unfused),
            "unfused": run(unfused, style="style-a"),
            "fused": run(fused),
            "switch": switch,
        },
        repeat,
    )
    per_step = {name: value / steps for name, value in seconds.items() if name != "switch"}
    per_step["switch"] = seconds["switch"] / switches
    return per_step


def training_steps_per_s(sd: Path, *, device: str, precision: str, batch: int, size: int,
                         steps: int, rank: int = 16) -> dict[str, float]:  # fmt: skip
    """Optimizer steps per second of the style recipe on random images, and peak memory."""
    import torch

    from services.generation.finetune_style.data import caption_ids
    from services.generation.finetune_style.model import (
        load_components,
        make_optimizer,
        trainable_parameters,
    )
    from services.generation.finetune_style.train import noise_prediction_loss

    components = load_components(
        str(sd), rank=rank, device=device, precision=precision, gradient_checkpointing=None
    )
    parameters = trainable_parameters(components)
    optimizer, name = make_optimizer(parameters, 1e-4, components.device)
    scaler = torch.amp.GradScaler("cuda", enabled=components.precision == "fp16")
    autocast = torch.autocast(
        components.device, dtype=components.weight_dtype, enabled=components.precision != "fp32"
    )
    generator = torch.Generator("cpu").manual_seed(0)
    pixels = torch.rand((batch, 3, size, size), generator=generator) * 2 - 1
    ids = caption_ids(components.tokenizer, ["kawung, batik nitik motif"] * batch)
    components.unet.train()

    def step():
        with autocast:
            loss = noise_prediction_loss(components, pixels, ids, generator)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        optimizer.zero_grad(set_to_none=True)

    for _ in range(2):
        step()  # warm-up
    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    for _ in range(steps):
        step()
    if device == "cuda":
        torch.cuda.synchronize()
    seconds = (time.perf_counter() - started) / steps
    peak = torch.cuda.max_memory_allocated() / 2**30 if device == "cuda" else float("nan")
    return {"s_per_step": seconds, "steps_per_s": 1 / seconds, "peak_gib": peak, "optimizer": name}


def _styles_dir(sd: Path, out: Path) -> Path:
    """out/all: two styles; out/fused: the first alone (the fused engine carries no other)."""
    import shutil

    from services.common.tiny import build_tiny_lora

    for n, name in enumerate(("style-a", "style-b")):
        build_tiny_lora(sd, out / "all" / name, seed=n + 1, rank=16, style_name=name)
    shutil.copytree(out / "all" / "style-a", out / "fused" / "style-a")
    return out


def tiny(args) -> int:
    from services.common.tiny import build_tiny_sd

    with tempfile.TemporaryDirectory() as tmp:
        sd = build_tiny_sd(Path(tmp) / "sd")
        styles = _styles_dir(sd, Path(tmp) / "styles")
        cost = serving(sd, styles, size=args.size, steps=args.steps, repeat=args.repeat)
        train = training_steps_per_s(
            sd, device="auto", precision="auto", batch=4, size=64, steps=args.train_steps
        )
    none = cost["none"]
    print(f"tiny SD, {args.size} px txt2img, {args.steps} steps, median of {args.repeat}")
    print(f"per step, bare model     {cost['bare'] * 1000:8.3f} ms   {cost['bare'] / none:.2f}x")
    print(f"per step, no style       {none * 1000:8.3f} ms   1.00x")
    print(
        f"per step, unfused style  {cost['unfused'] * 1000:8.3f} ms   {cost['unfused'] / none:.2f}x"
    )
    print(f"per step, fused style    {cost['fused'] * 1000:8.3f} ms   {cost['fused'] / none:.2f}x")
    print(f"unfused / fused          {cost['unfused'] / cost['fused']:.2f}x")
    print(
        f"style switch             {cost['switch'] * 1000:8.3f} ms   "
        f"{cost['switch'] / none:.2f} steps' worth"
    )
    print(
        f"training (64 px, batch 4, rank 16): {train['steps_per_s']:.1f} steps/s "
        f"({train['optimizer']})"
    )
    return 0


def full_size(args) -> int:
    import torch

    if not torch.cuda.is_available():
        print("--full-size needs CUDA: not run (no GPU)")
        return 2
    from services.common.fullsize.sd import build_sd15

    with tempfile.TemporaryDirectory() as tmp:
        sd = build_sd15(Path(tmp) / "sd15")
        print(f"SD 1.5 shapes, random weights, {torch.cuda.get_device_name()}, 512 px, LoRA r=16")
        for precision in ("fp16", "bf16"):
            if precision == "bf16" and not native_bf16():
                print("bf16: not supported by this GPU")
                continue
            for batch in (1, 4):
                row = training_steps_per_s(
                    sd, device="cuda", precision=precision, batch=batch, size=512,
                    steps=args.train_steps,
                )  # fmt: skip
                print(
                    f"train {precision} batch {batch}: {row['s_per_step']:.3f} s/step, "
                    f"peak {row['peak_gib']:.1f} GiB ({row['optimizer']}, gradient checkpointing)"
                )
        styles = _full_size_styles(sd, Path(tmp) / "styles")
        cost = serving(sd, styles, size=512, steps=args.steps, repeat=args.repeat)
        print(
            f"serve 512 px: none/bare {cost['none'] / cost['bare']:.3f}x, unfused/none {cost['unfused'] / cost['none']:.3f}x, "
            f"fused/none {cost['fused'] / cost['none']:.3f}x, "
            f"unfused/fused {cost['unfused'] / cost['fused']:.3f}x, "
            f"switch {cost['switch'] * 1000:.1f} ms"
        )
    return 0


def _full_size_styles(sd: Path, out: Path) -> Path:
    # build_tiny_lora reads the UNet's shapes from `sd`: full-size LoRAs of rank 16.
    return _styles_dir(sd, out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full-size", action="store_true", help="CUDA: SD 1.5 shapes")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--steps", type=int, default=20, help="denoising steps per image")
    parser.add_argument("--size", type=int, default=128, help="tiny mode: image side")
    parser.add_argument("--train-steps", type=int, default=20)
    args = parser.parse_args()
    return full_size(args) if args.full_size else tiny(args)


if __name__ == "__main__":
    sys.exit(main())
