"""`batik finetune` options, and the run they describe. services/cli.py only registers them."""

from __future__ import annotations

import argparse
import json
import logging

from services.captioning.finetune.model import DEFAULT_TARGETS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--index", required=True, help="index directory written by `batik ingest`")
    parser.add_argument("--out", required=True, help="adapter directory to write")
    parser.add_argument("--model", help="BLIP-2 source; default: the captioning service's setting")
    parser.add_argument(
        "--template", help="target text template; default: CAPTIONING_TRAIN_TEMPLATE"
    )
    parser.add_argument("--val-fraction", type=float, default=0.15, help="of source photos")
    parser.add_argument("--seed", type=int, default=0, help="split, data order, LoRA init")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--lr", type=float, default=1e-4, help="peak learning rate")
    parser.add_argument("--warmup-steps", type=int, default=10, help="linear warm-up steps")
    parser.add_argument("--batch-size", type=int, default=4, help="images per micro-batch")
    parser.add_argument("--grad-accum", type=int, default=4, help="micro-batches per step")
    parser.add_argument("--lora-r", type=int, default=16)
    parser.add_argument("--lora-alpha", type=int, default=32)
    parser.add_argument("--lora-dropout", type=float, default=0.05)
    parser.add_argument(
        "--targets",
        default=",".join(DEFAULT_TARGETS),
        help="modules LoRA adapts, comma-separated: the language model's q_proj,v_proj (default); "
        "add the Q-Former's query,value",
    )
    parser.add_argument("--max-target-tokens", type=int, default=64)
    parser.add_argument("--max-new-tokens", type=int, default=40, help="validation captions")
    parser.add_argument("--eval-batch-size", type=int, default=8)
    parser.add_argument("--limit", type=int, help="train on the first N training pairs only")
    parser.add_argument(
        "--quantize",
        default="auto",
        choices=["auto", "4bit", "none"],
        help="auto: 4-bit NF4 QLoRA on CUDA, an fp32 base on CPU",
    )
    add_run_arguments(parser)


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """Where and how a training job runs; shared with `batik finetune-style`."""
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument(
        "--gradient-checkpointing",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="default: on for CUDA",
    )
    parser.add_argument("--resume", action="store_true", help="continue from the last checkpoint")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from services.captioning.config import CaptioningSettings
    from services.captioning.finetune.model import LoraOptions
    from services.captioning.finetune.train import TrainConfig, train

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    settings = CaptioningSettings()
    targets = tuple(t.strip() for t in args.targets.split(",") if t.strip())
    if not targets:
        raise ValueError("--targets names no module")
    model = args.model or settings.model
    config = TrainConfig(
        index_dir=args.index,
        out=args.out,
        model=model,
        # The service's pinned revision goes with the service's model.
        model_revision=settings.model_revision if model == settings.model else None,
        template=args.template or settings.train_template,
        facts=settings.train_facts,
        val_fraction=args.val_fraction,
        seed=args.seed,
        epochs=args.epochs,
        lr=args.lr,
        warmup_steps=args.warmup_steps,
        batch_size=args.batch_size,
        grad_accum=args.grad_accum,
        max_target_tokens=args.max_target_tokens,
        max_new_tokens=args.max_new_tokens,
        eval_batch_size=args.eval_batch_size,
        limit=args.limit,
        lora=LoraOptions(
            r=args.lora_r, alpha=args.lora_alpha, dropout=args.lora_dropout, targets=targets
        ),
        device=args.device,
        quantize=args.quantize,
        gradient_checkpointing=args.gradient_checkpointing,
    )
    report = train(config, resume=args.resume, progress=not args.no_progress)
    metrics = report["metrics"]
    summary = {
        "out": args.out,
        "train_pairs": report["data"]["train_pairs"],
        "val_pairs": report["data"]["val_pairs"],
        "first_loss": report["loss_per_step"][0] if report["loss_per_step"] else None,
        "last_loss": report["loss_per_step"][-1] if report["loss_per_step"] else None,
        **{
            f"{when}_{name}": (metrics[when] or {}).get(name)
            for when in ("before", "after")
            for name in ("bleu4", "rouge_l")
        },
    }
    print(json.dumps(summary))
    return 0
