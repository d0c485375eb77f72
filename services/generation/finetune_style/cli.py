"""`batik finetune-style` options, and the run they describe. services/cli.py only registers them."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from services.captioning.finetune.cli import add_run_arguments


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--index", required=True, help="index directory written by `batik ingest`")
    parser.add_argument("--out", required=True, help="style folder to write (atomically)")
    parser.add_argument("--name", help="style name (default: the --out folder's name)")
    parser.add_argument("--model", help="SD 1.5 source; default: the generation service's setting")
    parser.add_argument("--template", help="caption template; default: GENERATION_STYLE_TEMPLATE")
    parser.add_argument(
        "--trigger", help="trigger words, comma-separated; default: GENERATION_STYLE_TRIGGER"
    )
    parser.add_argument("--rank", type=int, default=16, help="LoRA rank (alpha = rank)")
    parser.add_argument("--steps", type=int, default=1000, help="optimizer steps")
    parser.add_argument("--lr", type=float, default=1e-4, help="peak learning rate")
    parser.add_argument("--warmup-steps", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=1, help="images per micro-batch")
    parser.add_argument("--grad-accum", type=int, default=4, help="micro-batches per step")
    parser.add_argument("--resolution", type=int, default=512, help="training side in pixels")
    parser.add_argument(
        "--train-text-encoder", action="store_true", help="LoRA on the text encoder too"
    )
    parser.add_argument("--seed", type=int, default=0, help="split, data order, noise, LoRA init")
    parser.add_argument("--val-fraction", type=float, default=0.1, help="of source photos")
    parser.add_argument(
        "--checkpoint-every", type=int, default=250, help="steps between checkpoints (0: none)"
    )
    parser.add_argument("--validation-steps", type=int, default=25, help="grid sampling steps")
    parser.add_argument(
        "--precision",
        default="auto",
        choices=["auto", "fp32", "fp16", "bf16"],
        help="auto: bf16 mixed precision where the GPU has it, else fp16; fp32 on a CPU",
    )
    add_run_arguments(parser)  # --device, --gradient-checkpointing, --resume, --no-progress


def run(args: argparse.Namespace) -> int:
    from services.generation.config import GenerationSettings
    from services.generation.finetune_style.train import StyleTrainConfig, train_style

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    settings = GenerationSettings()
    trigger = args.trigger if args.trigger is not None else settings.style_trigger
    model = args.model or settings.model
    config = StyleTrainConfig(
        index_dir=args.index,
        out=args.out,
        model=model,
        # The service's pinned revision goes with the service's model.
        model_revision=settings.model_revision if model == settings.model else None,
        name=args.name or Path(args.out).name,
        template=args.template or settings.style_template,
        facts=settings.style_facts,
        trigger_words=tuple(w.strip() for w in trigger.split(",") if w.strip()),
        rank=args.rank,
        steps=args.steps,
        lr=args.lr,
        warmup_steps=args.warmup_steps,
        batch_size=args.batch_size,
        grad_accum=args.grad_accum,
        resolution=args.resolution,
        train_text_encoder=args.train_text_encoder,
        seed=args.seed,
        checkpoint_every=args.checkpoint_every,
        val_fraction=args.val_fraction,
        validation_steps=args.validation_steps,
        device=args.device,
        precision=args.precision,
        gradient_checkpointing=args.gradient_checkpointing,
    )
    report = train_style(config, resume=args.resume, progress=not args.no_progress)
    print(
        json.dumps(
            {
                "out": args.out,
                "name": report["name"],
                "steps": report["steps"],
                "train_images": report["data"]["train_images"],
                "val_images": report["data"]["val_images"],
                "loss_first_quarter": report["loss_first_quarter"],
                "loss_last_quarter": report["loss_last_quarter"],
                "val_loss_before": report["validation"]["loss_before"],
                "val_loss_after": report["validation"]["loss_after"],
            }
        )
    )
    return 0
