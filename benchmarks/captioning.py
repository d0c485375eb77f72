"""Captioning throughput: captions per second at batch 1 and batch 8, as ratios from one run.

Default: the tiny offline BLIP-2, loaded through the service's engine (`Blip2Captioner`), on the CPU.
`--full-size` builds BLIP-2 opt-2.7b at full size with random weights (same architecture, shapes and
FLOPs as Salesforce/blip2-opt-2.7b, nothing downloaded) on a CUDA GPU, and compares serving it fp16 with a
merged LoRA adapter against the 4-bit NF4 base with the adapter unmerged (needs bitsandbytes).

Every generation is forced to exactly `--new-tokens` tokens (min = max), so batch sizes and precisions
are compared on the same work whatever the random weights would say.

    python -m benchmarks.captioning [--repeat 5] [--new-tokens 20]
    python -m benchmarks.captioning --full-size [--repeat 3]          # on a GPU
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from PIL import Image

BATCHES = (1, 8)


def _images(n: int, size: int) -> list[Image.Image]:
    return [Image.new("RGB", (size, size), (30 * i % 255, 90, 200 - 20 * i)) for i in range(n)]


def captions_per_second(
    model: Any, processor: Any, images: list[Image.Image], batch: int, new_tokens: int, repeat: int
) -> float:
    """Median over `repeat` runs of captioning all `images` in batches of `batch`."""
    import torch

    def run() -> None:
        for start in range(0, len(images), batch):
            chunk = images[start : start + batch]
            inputs = processor(images=chunk, text=[""] * len(chunk), return_tensors="pt")
            inputs = inputs.to(model.device)
            inputs["pixel_values"] = inputs["pixel_values"].to(model.dtype)
            model.generate(
                **inputs,
                max_new_tokens=new_tokens,
                min_new_tokens=new_tokens,
                do_sample=False,
                repetition_penalty=1.3,
                no_repeat_ngram_size=3,
            )
        if torch.cuda.is_available():
            torch.cuda.synchronize()

    with torch.inference_mode():
        run()  # warm-up: kernels, allocator, caches
        seconds = []
        for _ in range(repeat):
            started = time.perf_counter()
            run()
            seconds.append(time.perf_counter() - started)
    return len(images) / statistics.median(seconds)


def _report(name: str, rates: dict[int, float]) -> None:
    for batch, rate in rates.items():
        print(f"{name:<28} batch {batch:<2} {rate:9.2f} captions/s")
    print(f"{name:<28} batch 8 / batch 1 = {rates[8] / rates[1]:.2f}x")


def tiny(args: argparse.Namespace) -> None:
    import torch

    from services.captioning.captioner import Blip2Captioner
    from services.common.tiny import build_tiny_blip2

    torch.set_num_threads(args.threads)
    work = Path(tempfile.mkdtemp(prefix="batik-bench-caption-"))
    captioner = Blip2Captioner(str(build_tiny_blip2(work / "blip2")), device="cpu")
    images = _images(8, 64)
    rates = {
        b: captions_per_second(
            captioner.model, captioner.processor, images, b, args.new_tokens, args.repeat
        )
        for b in BATCHES
    }
    _report("tiny BLIP-2, CPU fp32", rates)


def full_size_config(image_token_index: int) -> Any:
    """Salesforce/blip2-opt-2.7b's configuration: ViT-g/14, a 12-layer Q-Former, OPT-2.7b."""
    from transformers import Blip2Config

    return Blip2Config(
        vision_config=dict(
            hidden_size=1408,
            intermediate_size=6144,
            num_hidden_layers=39,
            num_attention_heads=16,
            image_size=224,
            patch_size=14,
            qkv_bias=True,
        ),
        qformer_config=dict(
            hidden_size=768,
            intermediate_size=3072,
            num_hidden_layers=12,
            num_attention_heads=12,
            cross_attention_frequency=2,
            encoder_hidden_size=1408,
            vocab_size=30522,
        ),
        text_config=dict(
            model_type="opt",
            vocab_size=50272,
            hidden_size=2560,
            word_embed_proj_dim=2560,
            ffn_dim=10240,
            num_hidden_layers=32,
            num_attention_heads=32,
            max_position_embeddings=2048,
            bos_token_id=2,
            eos_token_id=2,
            pad_token_id=1,
        ),
        num_query_tokens=32,
        image_token_index=image_token_index,
    )


def full_size(args: argparse.Namespace) -> None:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import (
        Blip2ForConditionalGeneration,
        Blip2Processor,
        BlipImageProcessorPil,
        GPT2Tokenizer,
    )

    from services.captioning.finetune.model import nf4_config
    from services.common.tiny import write_opt_tokenizer

    if not torch.cuda.is_available():
        raise SystemExit("--full-size needs a CUDA GPU (BLIP-2 opt-2.7b is 3.9 B parameters)")
    work = Path(tempfile.mkdtemp(prefix="batik-bench-blip2-full-"))
    write_opt_tokenizer(work / "tok")  # offline: the tiny BPE; ids fit OPT's 50272-token table
    processor = Blip2Processor(
        image_processor=BlipImageProcessorPil(size={"height": 224, "width": 224}),
        tokenizer=GPT2Tokenizer.from_pretrained(str(work / "tok")),
        num_query_tokens=32,
    )
    config = full_size_config(processor.tokenizer.convert_tokens_to_ids("<image>"))
    images = _images(8, 224)
    results: dict[str, dict[int, float]] = {}

    torch.manual_seed(0)
    with torch.device("cuda"):
        model = Blip2ForConditionalGeneration(config).to(torch.float16)
    lora = LoraConfig(
        r=16, lora_alpha=32, target_modules=["q_proj", "v_proj"], init_lora_weights=False
    )
    model = get_peft_model(model, lora).merge_and_unload().eval()  # as the service serves it
    params = sum(p.numel() for p in model.parameters()) / 1e9
    print(f"BLIP-2 opt-2.7b shape, random weights: {params:.2f} B parameters")
    results["fp16, adapter merged"] = {
        b: captions_per_second(model, processor, images, b, args.new_tokens, args.repeat)
        for b in BATCHES
    }
    print(f"fp16 peak memory: {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB")
    model.save_pretrained(str(work / "model"))
    del model
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()

    quantized = Blip2ForConditionalGeneration.from_pretrained(
        str(work / "model"),
        quantization_config=nf4_config(torch.bfloat16),
        dtype=torch.bfloat16,
        device_map={"": 0},
    )
    quantized = get_peft_model(quantized, lora).eval()  # QLoRA as trained: adapter unmerged
    results["4-bit NF4, adapter unmerged"] = {
        b: captions_per_second(quantized, processor, images, b, args.new_tokens, args.repeat)
        for b in BATCHES
    }
    print(f"4-bit peak memory: {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB")
    for name, rates in results.items():
        _report(name, rates)
    fp16, nf4 = results["fp16, adapter merged"], results["4-bit NF4, adapter unmerged"]
    for b in BATCHES:
        print(f"batch {b}: fp16 merged / 4-bit = {fp16[b] / nf4[b]:.2f}x")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--new-tokens", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1, help="torch threads for the CPU run")
    parser.add_argument("--full-size", action="store_true", help="BLIP-2 opt-2.7b on a GPU")
    args = parser.parse_args()
    (full_size if args.full_size else tiny)(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
