"""The training loop: micro-batches with gradient accumulation, linear warm-up then linear decay,
a checkpoint after every epoch, and `resume` from the newest one with the same results as a run that was
never interrupted (the data order and dropout are seeded per epoch).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import random
import shutil
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from services.captioning.decoding import stop_token_ids
from services.captioning.finetune.data import (
    TrainingPair,
    build_pairs,
    data_checksum,
    split_by_photo,
)
from services.captioning.finetune.metrics import evaluate
from services.captioning.finetune.model import Loaded, LoraOptions, load_for_training
from services.captioning.finetune.report import plot_loss, write_report
from services.common.models import source_version

log = logging.getLogger(__name__)

CHECKPOINTS = "checkpoints"
STATE_FILE = "trainer_state.pt"


@dataclass(frozen=True)
class TrainConfig:
    index_dir: str
    out: str
    model: str
    template: str
    model_revision: str | None = None  # of a hub `model`: the one the service serves
    facts: int = 2
    val_fraction: float = 0.15
    seed: int = 0
    epochs: int = 3
    lr: float = 1e-4
    warmup_steps: int = 10
    batch_size: int = 4
    grad_accum: int = 4
    max_target_tokens: int = 64
    max_new_tokens: int = 40
    eval_batch_size: int = 8
    limit: int | None = None
    lora: LoraOptions = field(default_factory=LoraOptions)
    device: str = "auto"
    quantize: str = "auto"
    gradient_checkpointing: bool | None = None

    def hyperparameters(self) -> dict[str, Any]:
        """What a resumed run must share with the run it continues."""
        values = dataclasses.asdict(self)
        values["lora"]["targets"] = list(self.lora.targets)
        for key in ("out", "device"):
            values.pop(key)
        return values


def lr_factor(step: int, warmup: int, total: int) -> float:
    """Linear warm-up over `warmup` steps, then linear decay to zero at `total`."""
    if warmup > 0 and step < warmup:
        return (step + 1) / warmup
    return max(0.0, (total - step) / max(1, total - warmup))


def latest_checkpoint(out: Path) -> Path | None:
    done = sorted((out / CHECKPOINTS).glob("epoch-*/" + STATE_FILE))
    return done[-1].parent if done else None


def _truncate(tokenizer: Any, text: str, max_tokens: int) -> str:
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    return text if len(ids) <= max_tokens else tokenizer.decode(ids[:max_tokens]).strip()


def _batch(loaded: Loaded, pairs: list[TrainingPair]) -> dict[str, Any]:
    """Processor inputs with labels: the target tokens only (padding and image tokens are -100)."""
    from PIL import Image

    processor = loaded.processor
    tokenizer = processor.tokenizer
    tokenizer.padding_side = "right"
    # Each target ends with the token generation stops on, so the model learns to stop where the
    # served model will. For opt-2.7b that is the newline (50118, as LAVIS trained it), not
    # `tokenizer.eos_token` (`</s>`, 2), which `generate` would ignore.
    stop = stop_token_ids(loaded.model)[0]
    inputs = processor(
        images=[Image.open(p.image).convert("RGB") for p in pairs],
        text=[p.target + tokenizer.decode([stop]) for p in pairs],
        padding="longest",
        return_tensors="pt",
    )
    last = inputs["attention_mask"].sum(dim=1) - 1
    ended = inputs["input_ids"].gather(1, last.unsqueeze(1)).squeeze(1)
    if not bool((ended == stop).all()):
        raise ValueError(f"the tokenizer does not encode the stop token {stop} back to itself")
    labels = inputs["input_ids"].clone()
    labels[inputs["attention_mask"] == 0] = -100
    labels[inputs["input_ids"] == loaded.model.config.image_token_index] = -100
    inputs["labels"] = labels
    return inputs.to(loaded.device)


def _save_checkpoint(out: Path, epoch: int, loaded: Loaded, state: dict[str, Any]) -> Path:
    import torch

    final = out / CHECKPOINTS / f"epoch-{epoch:03d}"
    staging = final.with_name(final.name + ".tmp")
    shutil.rmtree(staging, ignore_errors=True)
    loaded.model.save_pretrained(str(staging))
    torch.save(state, staging / STATE_FILE)
    shutil.rmtree(final, ignore_errors=True)
    staging.rename(final)  # a checkpoint is whole or absent: resume never reads half of one
    return final


def train(config: TrainConfig, *, resume: bool = False, progress: bool = True) -> dict[str, Any]:
    import torch
    from tqdm import tqdm

    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    pairs, index_version = build_pairs(Path(config.index_dir), config.template, config.facts)
    train_pairs, val_pairs = split_by_photo(pairs, config.val_fraction, config.seed)
    if config.limit:
        train_pairs = train_pairs[: config.limit]

    checkpoint = latest_checkpoint(out) if resume else None
    saved: dict[str, Any] = {}
    if checkpoint is not None:
        saved = torch.load(checkpoint / STATE_FILE, weights_only=False)
        check_same_run(saved["hyperparameters"], config.hyperparameters())
        log.info("resuming from %s", checkpoint)
    elif resume:
        log.info("no checkpoint under %s: starting from the beginning", out / CHECKPOINTS)

    torch.manual_seed(config.seed)  # the LoRA A matrices' initialisation
    loaded = load_for_training(
        config.model,
        config.lora,
        device=config.device,
        quantize=config.quantize,
        gradient_checkpointing=config.gradient_checkpointing,
        resume_adapter=checkpoint,
        revision=config.model_revision,
    )
    tokenizer = loaded.processor.tokenizer
    truncate = lambda p: dataclasses.replace(  # noqa: E731
        p, target=_truncate(tokenizer, p.target, config.max_target_tokens)
    )
    train_pairs = [truncate(p) for p in train_pairs]
    val_pairs = [truncate(p) for p in val_pairs]

    def run_eval() -> dict[str, Any] | None:
        return evaluate(
            loaded.model,
            loaded.processor,
            val_pairs,
            batch_size=config.eval_batch_size,
            max_new_tokens=config.max_new_tokens,
        )

    model = loaded.model
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=0.0)
    micro_per_epoch = math.ceil(len(train_pairs) / config.batch_size)
    steps_per_epoch = math.ceil(micro_per_epoch / config.grad_accum)
    total_steps = steps_per_epoch * config.epochs
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: lr_factor(s, config.warmup_steps, total_steps)
    )
    if saved:
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
    losses: list[float] = list(saved.get("losses", []))
    epoch_seconds: list[float] = list(saved.get("epoch_seconds", []))
    start_epoch = int(saved.get("epoch", 0))
    metrics_before = saved["metrics_before"] if saved else run_eval()

    on_gpu = loaded.device == "cuda"
    autocast = (
        torch.autocast("cuda", dtype=loaded.compute_dtype)
        if on_gpu
        else torch.autocast("cpu", enabled=False)
    )
    # fp16 (no bf16 on the card) has too little range for small gradients: scale the loss.
    scaler = torch.amp.GradScaler("cuda", enabled=on_gpu and loaded.compute_dtype == torch.float16)
    bar = tqdm(
        total=total_steps, initial=len(losses), desc="finetune", unit="step", disable=not progress
    )
    model.train()
    for epoch in range(start_epoch, config.epochs):
        started = time.perf_counter()
        torch.manual_seed(config.seed + epoch)  # dropout: a resumed epoch repeats exactly
        order = list(range(len(train_pairs)))
        random.Random(config.seed + epoch).shuffle(order)
        micro = [
            [train_pairs[i] for i in order[s : s + config.batch_size]]
            for s in range(0, len(order), config.batch_size)
        ]
        for first in range(0, len(micro), config.grad_accum):
            group = micro[first : first + config.grad_accum]
            step_loss = 0.0
            for batch in group:
                with autocast:
                    loss = model(**_batch(loaded, batch)).loss / len(group)
                scaler.scale(loss).backward()
                step_loss += float(loss.detach())
            scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            scaler.step(optimizer)
            scaler.update()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            losses.append(round(step_loss, 6))
            bar.update(1)
            bar.set_postfix(
                epoch=epoch + 1, loss=f"{step_loss:.4f}", lr=f"{scheduler.get_last_lr()[0]:.2e}"
            )
        epoch_seconds.append(round(time.perf_counter() - started, 3))
        _save_checkpoint(
            out,
            epoch + 1,
            loaded,
            {
                "epoch": epoch + 1,
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "losses": losses,
                "epoch_seconds": epoch_seconds,
                "metrics_before": metrics_before,
                "hyperparameters": config.hyperparameters(),
            },
        )
    bar.close()

    metrics_after = run_eval()
    model.save_pretrained(str(out))
    report = {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "base_model": {
            "source": config.model,
            "revision": config.model_revision,
            "version": source_version(config.model, config.model_revision),
        },
        "data": {
            "index_dir": str(Path(config.index_dir).resolve()),
            "index_version": index_version,
            "checksum": data_checksum(pairs),
            "pairs": len(pairs),
            "train_pairs": len(train_pairs),
            "val_pairs": len(val_pairs),
            "val_photos": [list(photo) for photo in sorted({p.photo for p in val_pairs})],
            "train_photos": len({p.photo for p in train_pairs}),
        },
        "hyperparameters": config.hyperparameters(),
        "device": loaded.device,
        "quantized_4bit": loaded.quantized,
        "compute_dtype": str(loaded.compute_dtype).removeprefix("torch."),
        "epochs": config.epochs,
        "steps_per_epoch": steps_per_epoch,
        "epoch_seconds": epoch_seconds,
        "loss_per_step": losses,
        "resumed_from": str(checkpoint) if checkpoint else None,
        "metrics": {"before": metrics_before, "after": metrics_after},
    }
    write_report(out, report)
    plot_loss(out, losses, steps_per_epoch)
    return report


def check_same_run(saved: dict[str, Any], current: dict[str, Any]) -> None:
    if saved != current:
        changed = sorted(k for k in set(saved) | set(current) if saved.get(k) != current.get(k))
        raise ValueError(
            "--resume continues the run its checkpoints came from, but these options differ: "
            + ", ".join(
                f"{k} ({json.dumps(saved.get(k))} -> {json.dumps(current.get(k))})" for k in changed
            )
        )
