"""The training loop of diffusers' `train_text_to_image_lora` recipe: VAE latents, noise at a random
timestep of the model's own DDPM schedule, the UNet (with LoRA) predicts the noise (or the velocity,
as the scheduler's `prediction_type` says), MSE against it.

Every micro-batch draws its images, noise and timesteps from generators seeded by (seed, micro-batch
number), so `resume` from a checkpoint continues exactly where the interrupted run was: the same step
count and, on a CPU, the same losses.
"""

from __future__ import annotations

import dataclasses
import logging
import random
import resource
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from services.captioning.finetune.data import TrainingPair, data_checksum, split_by_photo
from services.captioning.finetune.report import plot_loss, write_report
from services.captioning.finetune.train import check_same_run, lr_factor
from services.common.models import source_version
from services.generation.finetune_style.data import caption_ids, pixel_batch, style_pairs
from services.generation.finetune_style.model import (
    Components,
    load_components,
    load_peft_state,
    make_optimizer,
    peft_state,
    trainable_parameters,
)
from services.generation.finetune_style.output import (
    check_out,
    check_style_name,
    publish,
    staging_dir,
    write_style,
)
from services.generation.finetune_style.validation import held_out_loss, validation_grid

log = logging.getLogger(__name__)

CHECKPOINTS = "checkpoints"
STATE_FILE = "trainer_state.pt"


@dataclass(frozen=True)
class StyleTrainConfig:
    index_dir: str
    out: str
    model: str
    name: str
    template: str
    model_revision: str | None = None  # of a hub `model`: the one the service serves
    facts: int = 1
    trigger_words: tuple[str, ...] = ("batik nitik motif",)
    rank: int = 16
    steps: int = 1000
    lr: float = 1e-4
    warmup_steps: int = 0
    batch_size: int = 1
    grad_accum: int = 4
    resolution: int = 512
    train_text_encoder: bool = False
    seed: int = 0
    checkpoint_every: int = 250
    val_fraction: float = 0.1
    validation_photos: int = 4
    validation_seeds: tuple[int, ...] = (0, 1)
    validation_steps: int = 25
    device: str = "auto"
    precision: str = "auto"
    gradient_checkpointing: bool | None = None

    def check(self) -> None:
        """Bad options fail here, before anything is read or written."""
        if self.rank < 1:
            raise ValueError(f"--rank must be at least 1, got {self.rank}")
        if not self.lr > 0:
            raise ValueError(f"--lr must be positive, got {self.lr}")
        for name in ("steps", "batch_size", "grad_accum"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be at least 1")
        if self.resolution < 8 or self.resolution % 8:
            raise ValueError(
                f"--resolution must be a positive multiple of 8, got {self.resolution}"
            )
        if self.checkpoint_every < 0 or self.warmup_steps < 0:
            raise ValueError("--checkpoint-every and --warmup-steps cannot be negative")
        check_style_name(self.name)

    def hyperparameters(self) -> dict[str, Any]:
        """What a resumed run must share with the run it continues."""
        values = dataclasses.asdict(self)
        for key in ("out", "device", "checkpoint_every"):
            values.pop(key)
        values["trigger_words"] = list(self.trigger_words)
        values["validation_seeds"] = list(self.validation_seeds)
        return values


def micro_batch(pairs: list[TrainingPair], number: int, size: int, seed: int) -> list[TrainingPair]:
    """Micro-batch `number`: the next `size` images of a per-epoch shuffle, found from the number
    alone (so a resumed run draws what the interrupted one would have)."""
    chosen = []
    for position in range(number * size, (number + 1) * size):
        epoch, offset = divmod(position, len(pairs))
        order = list(range(len(pairs)))
        random.Random(seed * 100_003 + epoch).shuffle(order)
        chosen.append(pairs[order[offset]])
    return chosen


def noise_prediction_loss(
    components: Components, pixels: Any, input_ids: Any, generator: Any, timesteps: Any = None
) -> Any:
    import torch
    import torch.nn.functional as F

    c = components
    with torch.no_grad():
        latents = c.vae.encode(pixels.to(c.device, c.weight_dtype)).latent_dist.sample(generator)
        latents = latents * c.vae.config.scaling_factor
    noise = torch.randn(latents.shape, generator=generator).to(c.device, latents.dtype)
    if timesteps is None:
        timesteps = torch.randint(
            0,
            c.noise_scheduler.config.num_train_timesteps,
            (latents.shape[0],),
            generator=generator,
        )
    timesteps = timesteps.to(c.device)
    noisy = c.noise_scheduler.add_noise(latents, noise, timesteps)
    with torch.set_grad_enabled(torch.is_grad_enabled() and bool(c.text_encoder.training)):
        hidden = c.text_encoder(input_ids.to(c.device), return_dict=False)[0]
    prediction_type = c.noise_scheduler.config.prediction_type
    if prediction_type == "epsilon":
        target = noise
    elif prediction_type == "v_prediction":
        target = c.noise_scheduler.get_velocity(latents, noise, timesteps)
    else:
        raise ValueError(f"prediction_type {prediction_type!r} is not trainable here")
    prediction = c.unet(noisy, timesteps, hidden, return_dict=False)[0]
    return F.mse_loss(prediction.float(), target.float(), reduction="mean")


def _generator(seed: int, number: int) -> Any:
    import torch

    return torch.Generator("cpu").manual_seed(seed * 1_000_003 + number)


def latest_checkpoint(staging: Path) -> Path | None:
    done = sorted((staging / CHECKPOINTS).glob("step-*/" + STATE_FILE))
    return done[-1].parent if done else None


def _save_checkpoint(staging: Path, step: int, state: dict[str, Any]) -> Path:
    import torch

    final = staging / CHECKPOINTS / f"step-{step:07d}"
    tmp = final.with_name(final.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    torch.save(state, tmp / STATE_FILE)
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)  # whole or absent: resume never reads half a checkpoint
    for older in sorted((staging / CHECKPOINTS).glob("step-*")):
        if older != final and not older.name.endswith(".tmp"):
            shutil.rmtree(older)  # keep the newest only: each holds the optimizer state too
    return final


def _peak_memory(device: str) -> dict[str, Any]:
    import torch

    if device == "cuda":
        return {
            "kind": "cuda_max_allocated",
            "mb": round(torch.cuda.max_memory_allocated() / 2**20),
        }
    # ru_maxrss is in KiB on Linux: the whole process, imports included.
    return {
        "kind": "process_peak_rss",
        "mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def quarter_means(losses: list[float]) -> tuple[float, float]:
    quarter = max(1, len(losses) // 4)
    return (sum(losses[:quarter]) / quarter, sum(losses[-quarter:]) / quarter)


def train_style(
    config: StyleTrainConfig,
    *,
    resume: bool = False,
    progress: bool = True,
    on_step: Callable[[int, float], None] | None = None,
) -> dict[str, Any]:
    """Train, validate and publish the style folder; `on_step(step, loss)` after every optimizer
    step (it may raise to stop the run: the last checkpoint stays for `resume`)."""
    import torch
    from tqdm import tqdm

    config.check()
    out = Path(config.out)
    check_out(out, config.name)
    pairs, index_version = style_pairs(
        Path(config.index_dir), config.template, config.facts, config.trigger_words
    )
    train_pairs, val_pairs = split_by_photo(pairs, config.val_fraction, config.seed)

    staging = staging_dir(out)
    checkpoint = latest_checkpoint(staging) if resume else None
    saved: dict[str, Any] = {}
    if checkpoint is not None:
        saved = torch.load(checkpoint / STATE_FILE, weights_only=False)
        check_same_run(saved["hyperparameters"], config.hyperparameters())
        log.info("resuming from %s (step %d)", checkpoint, saved["step"])
    else:
        if resume:
            log.info("no checkpoint under %s: starting from the beginning", staging)
        shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True, exist_ok=True)

    torch.manual_seed(config.seed)  # the LoRA A matrices' initialisation
    components = load_components(
        config.model,
        rank=config.rank,
        train_text_encoder=config.train_text_encoder,
        device=config.device,
        precision=config.precision,
        gradient_checkpointing=config.gradient_checkpointing,
        revision=config.model_revision,
    )
    if saved:
        load_peft_state(components, saved["lora"])
    parameters = trainable_parameters(components)
    optimizer, optimizer_name = make_optimizer(parameters, config.lr, components.device)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: lr_factor(s, config.warmup_steps, config.steps)
    )
    scaler = torch.amp.GradScaler("cuda", enabled=components.precision == "fp16")
    if saved:
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        scaler.load_state_dict(saved["scaler"])
    losses: list[float] = list(saved.get("losses", []))
    lrs: list[float] = list(saved.get("lrs", []))
    seconds: list[float] = list(saved.get("seconds", []))
    start = int(saved.get("step", 0))
    if components.device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    autocast = torch.autocast(
        components.device,
        dtype=components.weight_dtype,
        enabled=components.precision != "fp32",
    )

    components.unet.train()
    if config.train_text_encoder:
        components.text_encoder.train()
    bar = tqdm(
        total=config.steps, initial=start, desc="finetune-style", unit="step", disable=not progress
    )
    for step in range(start, config.steps):
        started = time.perf_counter()
        lrs.append(scheduler.get_last_lr()[0])
        step_loss = 0.0
        for micro in range(config.grad_accum):
            number = step * config.grad_accum + micro
            batch = micro_batch(train_pairs, number, config.batch_size, config.seed)
            pixels = pixel_batch(batch, config.resolution)
            ids = caption_ids(components.tokenizer, [p.target for p in batch])
            with autocast:
                loss = noise_prediction_loss(
                    components, pixels, ids, _generator(config.seed, number)
                )
            scaler.scale(loss / config.grad_accum).backward()
            step_loss += float(loss.detach()) / config.grad_accum
        scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(parameters, 1.0)
        scaler.step(optimizer)
        scaler.update()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(round(step_loss, 6))
        seconds.append(round(time.perf_counter() - started, 4))
        bar.update(1)
        bar.set_postfix(loss=f"{step_loss:.4f}", lr=f"{lrs[-1]:.2e}")
        done = step + 1
        if on_step is not None:
            on_step(done, step_loss)
        if config.checkpoint_every and done % config.checkpoint_every == 0 and done < config.steps:
            _save_checkpoint(
                staging,
                done,
                {
                    "step": done,
                    "lora": peft_state(components),
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(),
                    "scaler": scaler.state_dict(),
                    "losses": losses,
                    "lrs": lrs,
                    "seconds": seconds,
                    "hyperparameters": config.hyperparameters(),
                },
            )
    bar.close()
    peak = _peak_memory(components.device)

    components.unet.eval()
    components.text_encoder.eval()
    validation = {
        "loss_before": held_out_loss(components, val_pairs, config, adapters=False),
        "loss_after": held_out_loss(components, val_pairs, config, adapters=True),
        **validation_grid(components, val_pairs, config, staging),
    }
    first_quarter, last_quarter = quarter_means(losses)
    # The version the service computes for the same pin: a style trained here loads there.
    base = {
        "source": config.model,
        "revision": config.model_revision,
        "version": source_version(config.model, config.model_revision),
    }
    report = {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "name": config.name,
        "base_model": base,
        "data": {
            "index_dir": str(Path(config.index_dir).resolve()),
            "index_version": index_version,
            "checksum": data_checksum(pairs),
            "images": len(pairs),
            "train_images": len(train_pairs),
            "val_images": len(val_pairs),
            "train_photos": len({p.photo for p in train_pairs}),
            "val_photos": [list(photo) for photo in sorted({p.photo for p in val_pairs})],
        },
        "settings": config.hyperparameters(),
        "device": components.device,
        "precision": components.precision,
        "optimizer": optimizer_name,
        "gradient_checkpointing": components.gradient_checkpointing,
        "prediction_type": components.noise_scheduler.config.prediction_type,
        "steps": len(losses),
        "loss_per_step": losses,
        "lr_per_step": lrs,
        "seconds_per_step": seconds,
        "loss_first_quarter": round(first_quarter, 6),
        "loss_last_quarter": round(last_quarter, 6),
        "peak_memory": peak,
        "validation": validation,
        "resumed_from": str(checkpoint) if checkpoint else None,
    }
    write_style(staging, components, config, report)
    write_report(staging, report)
    plot_loss(
        staging,
        losses,
        max(1, len(train_pairs) // (config.batch_size * config.grad_accum)),
        ylabel="noise-prediction MSE",
        title=f"batik finetune-style {config.name}: training loss",
    )
    shutil.rmtree(staging / CHECKPOINTS, ignore_errors=True)
    publish(staging, out)
    return report
