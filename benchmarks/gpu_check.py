"""GPU check: the three models at full size (random weights, built from the published configs in
tests/fixtures/real_configs, nothing downloaded) measured on one CUDA GPU, as one Markdown table for
docs/BENCHMARKS.md.

    python -m benchmarks.gpu_check                       # about 5-10 minutes on one GPU
    python -m benchmarks.gpu_check --only sd --repeat 5  # one part

- SD 1.5 img2img through `SdGenerator` (the service's engine, loaded from the hub layout the builder
  writes): 512 px, 50 steps, strength 0.55, fp16 + SDPA + channels_last, without and with
  `torch.compile` of the UNet (its compilation is paid in the warm-up and reported apart).
- BLIP-2 opt-2.7b caption latency at batch 1: fp16 with a LoRA adapter merged (how the service
  serves it) against 4-bit NF4 with the adapter unmerged (how QLoRA trains it; needs bitsandbytes).
- CLIP ViT-B/32 image throughput through `ClipEncoder` at batch 1 and 64, fp16.

Every row has its peak GPU memory (`torch.cuda.max_memory_allocated`, reset before each part: the
weights plus the activations of that part). Latencies are medians of `--repeat` runs after one
warm-up. Without CUDA the script stops at once with one line and exit status 2.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

PARTS = ("sd", "blip2", "clip")
NO_CUDA = "gpu_check needs a CUDA GPU: torch sees none here (run it on the GPU machine)"


@dataclass(frozen=True)
class Options:
    repeat: int = 3
    sd_size: int = 512
    sd_steps: int = 50
    strength: float = 0.55
    compile_mode: str = "default"
    compile: bool = True
    caption_tokens: int = 20
    clip_images: int = 64
    only: tuple[str, ...] = PARTS
    tiny: bool = False  # tiny widths of the same configs: the CPU-safe path the unit test runs


@dataclass(frozen=True)
class Row:
    model: str
    setting: str
    result: str
    peak_gib: float | None  # None: not on CUDA

    def cells(self) -> list[str]:
        peak = f"{self.peak_gib:.2f}" if self.peak_gib is not None else "n/a"
        return [self.model, self.setting, self.result, peak]


def parse_args(argv: Sequence[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per row (median)")
    parser.add_argument("--sd-size", type=int, default=512)
    parser.add_argument("--sd-steps", type=int, default=50)
    parser.add_argument("--strength", type=float, default=0.55)
    parser.add_argument(
        "--compile-mode",
        default="default",
        help="torch.compile mode of the compiled SD row (the service's default, "
        "max-autotune-no-cudagraphs, can take longer than the whole check to compile)",
    )
    parser.add_argument("--skip-compile", action="store_true", help="no torch.compile row")
    parser.add_argument("--caption-tokens", type=int, default=20)
    parser.add_argument("--clip-images", type=int, default=64)
    parser.add_argument("--only", nargs="+", choices=PARTS, default=list(PARTS))
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.sd_size % 8 or int(args.sd_steps * args.strength) < 1:
        parser.error("--repeat >= 1, --sd-size a multiple of 8, int(steps x strength) >= 1")
    return Options(
        repeat=args.repeat,
        sd_size=args.sd_size,
        sd_steps=args.sd_steps,
        strength=args.strength,
        compile_mode=args.compile_mode,
        compile=not args.skip_compile,
        caption_tokens=args.caption_tokens,
        clip_images=args.clip_images,
        only=tuple(args.only),
    )


def markdown_table(rows: Sequence[Row], header: str = "") -> str:
    columns = ["model", "setting", "result", "peak GPU memory (GiB)"]
    lines = ([header, ""] if header else []) + [
        "| " + " | ".join(columns) + " |",
        "|" + "---|" * len(columns),
    ]
    lines += ["| " + " | ".join(row.cells()) + " |" for row in rows]
    return "\n".join(lines) + "\n"


# -- measuring ----------------------------------------------------------------------------------


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def _sync() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def _reset_peak() -> None:
    import gc

    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def _peak_gib() -> float | None:
    import torch

    return torch.cuda.max_memory_allocated() / 2**30 if torch.cuda.is_available() else None


def median_seconds(run: Callable[[], object], repeat: int) -> tuple[float, float]:
    """(first call, median of `repeat` later calls), in seconds."""
    started = time.perf_counter()
    run()
    _sync()
    first = time.perf_counter() - started
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        _sync()
        samples.append(time.perf_counter() - started)
    return first, statistics.median(samples)


def measure_sd(work: Path, options: Options, device: str) -> list[Row]:
    from PIL import Image

    from services.common.contracts.generation import GenerateRequest
    from services.common.fullsize.sd import build_sd15
    from services.generation.acceleration import Acceleration
    from services.generation.generator import SdGenerator

    model = build_sd15(work / "stable-diffusion-v1-5", tiny=options.tiny, device=device)
    init = Image.effect_noise((options.sd_size, options.sd_size), 64).convert("RGB")
    request = GenerateRequest(
        prompt="batik nitik, dotted geometric motif, brown and cream",
        width=options.sd_size,
        height=options.sd_size,
        steps=options.sd_steps,
        strength=options.strength,
        seed=0,
    )
    fp16 = Acceleration(sdpa=True, channels_last=True)
    variants = [("SDPA + channels_last", fp16)]
    if options.compile:
        compiled = replace(fp16, compile=True, compile_mode=options.compile_mode)
        variants.append((f"+ torch.compile ({options.compile_mode})", compiled))
    dtype = "float16" if device == "cuda" else "float32"
    label = f"img2img {options.sd_size} px, {options.sd_steps} steps, strength {options.strength}"
    rows = []
    for name, acceleration in variants:
        _reset_peak()
        engine = SdGenerator(str(model), device=device, dtype=dtype, acceleration=acceleration)
        first, median = median_seconds(lambda e=engine: e.generate(request, init), options.repeat)
        warm = f"; first call {first:.1f} s" if acceleration.compile else ""
        rows.append(
            Row("SD 1.5", f"{label}, {name} ({engine.dtype})", f"{median:.2f} s{warm}", _peak_gib())
        )
        del engine
    return rows


def _caption_images(n: int, size: int):
    from PIL import Image

    return [Image.new("RGB", (size, size), (30 * i % 255, 90, 200 - 20 * i)) for i in range(n)]


def _processor(work: Path, num_query_tokens: int):
    from transformers import AutoTokenizer, Blip2Processor, BlipImageProcessorPil

    from services.common.fullsize.blip2 import BLIP2_REPO, write_opt_tokenizer
    from services.common.fullsize.hubfiles import real_config_dir

    tokenizer_dir = write_opt_tokenizer(work / "blip2-tokenizer")
    return Blip2Processor(
        image_processor=BlipImageProcessorPil.from_pretrained(str(real_config_dir(BLIP2_REPO))),
        tokenizer=AutoTokenizer.from_pretrained(str(tokenizer_dir)),
        num_query_tokens=num_query_tokens,
    )


def measure_blip2(work: Path, options: Options, device: str) -> list[Row]:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import Blip2ForConditionalGeneration

    from benchmarks.captioning import captions_per_second
    from services.common.fullsize.blip2 import blip2_config

    config = blip2_config(tiny=options.tiny)
    processor = _processor(work, config.num_query_tokens)
    image = _caption_images(1, processor.image_processor.size["height"])
    lora = LoraConfig(
        r=16, lora_alpha=32, target_modules=["q_proj", "v_proj"], init_lora_weights=False
    )
    half = torch.float16 if device == "cuda" else torch.float32
    label = f"caption latency, batch 1, {options.caption_tokens} new tokens"
    rows = []

    torch.manual_seed(0)
    with torch.device(device):  # on the GPU: no 15 GB detour through host memory
        model = Blip2ForConditionalGeneration(config).to(half)
    model = get_peft_model(model, lora).merge_and_unload().eval()  # as the service serves it
    _reset_peak()  # from here: the served weights and what captioning adds (not the fp32 build)
    rate = captions_per_second(model, processor, image, 1, options.caption_tokens, options.repeat)
    rows.append(
        Row("BLIP-2 opt-2.7b", f"{label}, {str(half)[6:]}, adapter merged", f"{1 / rate:.3f} s",
            _peak_gib())
    )  # fmt: skip
    if device != "cuda" or not _bitsandbytes():
        reason = "bitsandbytes not installed" if device == "cuda" else "4-bit needs CUDA"
        rows.append(Row("BLIP-2 opt-2.7b", f"{label}, 4-bit NF4", f"skipped: {reason}", None))
        return rows
    from services.captioning.finetune.model import nf4_config

    model.save_pretrained(str(work / "blip2-fp16"))
    del model
    _reset_peak()
    quantized = Blip2ForConditionalGeneration.from_pretrained(
        str(work / "blip2-fp16"),
        quantization_config=nf4_config(torch.float16),
        dtype=torch.float16,
        device_map={"": 0},
    )
    quantized = get_peft_model(quantized, lora).eval()  # QLoRA as trained: adapter unmerged
    _reset_peak()
    rate = captions_per_second(
        quantized, processor, image, 1, options.caption_tokens, options.repeat
    )
    rows.append(
        Row("BLIP-2 opt-2.7b", f"{label}, 4-bit NF4, adapter unmerged", f"{1 / rate:.3f} s",
            _peak_gib())
    )  # fmt: skip
    return rows


def _bitsandbytes() -> bool:
    try:
        import bitsandbytes  # noqa: F401
    except ImportError:
        return False
    return True


def measure_clip(work: Path, options: Options, device: str) -> list[Row]:
    from services.common.fullsize.clip import build_clip
    from services.retrieval.encoder import ClipEncoder

    model = build_clip(work / "clip-vit-base-patch32", tiny=options.tiny)
    images = _caption_images(options.clip_images, 224)
    rows = []
    for batch in (1, options.clip_images):
        _reset_peak()
        encoder = ClipEncoder(str(model), device=device, batch_size=batch)
        # Batch 1: as many single-image calls as one big batch holds images.
        run = (
            (lambda e=encoder: [e.embed_images([image]) for image in images])
            if batch == 1
            else (lambda e=encoder: e.embed_images(images))
        )
        _first, median = median_seconds(run, options.repeat)
        rows.append(
            Row(
                "CLIP ViT-B/32",
                f"image embeddings, batch {batch} ({str(encoder.dtype)[6:]})",
                f"{len(images) / median:.0f} images/s",
                _peak_gib(),
            )
        )
        del encoder
    return rows


MEASURES = {"sd": measure_sd, "blip2": measure_blip2, "clip": measure_clip}


def run_checks(options: Options, device: str, work: Path) -> list[Row]:
    rows: list[Row] = []
    for part in options.only:
        started = time.perf_counter()
        rows += MEASURES[part](work, options, device)
        print(f"  {part}: {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv)
    if not _cuda():
        print(NO_CUDA, file=sys.stderr)
        return 2
    import torch

    header = (
        f"`python -m benchmarks.gpu_check` on {torch.cuda.get_device_name()}, torch "
        f"{torch.__version__}, CUDA {torch.version.cuda}; random weights, published configs; "
        f"medians of {options.repeat} runs after one warm-up"
    )
    with tempfile.TemporaryDirectory(prefix="batik-gpu-check-") as work:
        started = time.perf_counter()
        rows = run_checks(options, "cuda", Path(work))
    print(markdown_table(rows, header))
    print(f"total {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
