"""Held-out checks of a style: the noise-prediction loss on validation photos at fixed noise, and a
grid of images at fixed seeds from their captions, before (LoRA off) and after (LoRA on) training."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Any

from services.captioning.finetune.data import TrainingPair

GRID_FILE = "validation_grid.png"


@contextmanager
def _adapters(components: Any, enabled: bool):
    """LoRA on (trained) or off (exactly the base model) for the duration."""
    from services.generation.finetune_style.model import has_text_encoder_lora, set_lora_enabled

    modules = [components.unet]
    if has_text_encoder_lora(components.text_encoder):
        modules.append(components.text_encoder)
    if not enabled:
        for module in modules:
            set_lora_enabled(module, False)
    try:
        yield
    finally:
        if not enabled:
            for module in modules:
                set_lora_enabled(module, True)


def held_out_loss(
    components: Any, pairs: list[TrainingPair], config: Any, *, adapters: bool
) -> float | None:
    """Mean loss over the validation images, each at the same noise and timestep every time."""
    import torch

    from services.generation.finetune_style.data import caption_ids, pixel_batch
    from services.generation.finetune_style.train import noise_prediction_loss

    if not pairs:
        return None
    total = 0.0
    steps = components.noise_scheduler.config.num_train_timesteps
    with _adapters(components, adapters), torch.no_grad():
        for number, pair in enumerate(pairs):
            generator = torch.Generator("cpu").manual_seed(config.seed + number)
            timestep = torch.tensor([(number * 7919) % steps])  # spread over the schedule
            loss = noise_prediction_loss(
                components,
                pixel_batch([pair], config.resolution),
                caption_ids(components.tokenizer, [pair.target]),
                generator,
                timesteps=timestep,
            )
            total += float(loss)
    return round(total / len(pairs), 6)


def _pipeline(components: Any) -> Any:
    from diffusers import StableDiffusionPipeline

    pipe = StableDiffusionPipeline(
        vae=components.vae,
        text_encoder=components.text_encoder,
        tokenizer=components.tokenizer,
        unet=components.unet,
        scheduler=type(components.inference_scheduler).from_config(
            components.inference_scheduler.config
        ),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.set_progress_bar_config(disable=True)
    return pipe


def validation_grid(
    components: Any, pairs: list[TrainingPair], config: Any, out: Path
) -> dict[str, Any]:
    """One row per held-out photo (upright copy): the photo, then before/after per seed."""
    import torch
    from PIL import Image, ImageDraw

    photos = [p for p in pairs if p.rotation == 0][: config.validation_photos]
    if not photos:
        return {"grid": None, "grid_photos": [], "grid_seeds": list(config.validation_seeds)}
    pipe = _pipeline(components)
    side = config.resolution
    columns = ["photo"] + [
        f"{when} s{seed}" for seed in config.validation_seeds for when in ("before", "after")
    ]
    label = 14
    grid = Image.new("RGB", (side * len(columns), (side + label) * len(photos)), "white")
    draw = ImageDraw.Draw(grid)
    autocast = torch.autocast(
        components.device, dtype=components.weight_dtype, enabled=components.precision != "fp32"
    )
    for row, pair in enumerate(photos):
        y = row * (side + label)
        with Image.open(pair.image) as photo:
            cells = [photo.convert("RGB").resize((side, side))]
        for seed in config.validation_seeds:
            for enabled in (False, True):
                with _adapters(components, enabled), torch.inference_mode(), autocast:
                    image = pipe(
                        pair.target,
                        width=side,
                        height=side,
                        num_inference_steps=config.validation_steps,
                        generator=torch.Generator("cpu").manual_seed(seed),
                    ).images[0]
                cells.append(image)
        for column, (cell, name) in enumerate(zip(cells, columns, strict=True)):
            grid.paste(cell, (column * side, y + label))
            draw.text((column * side + 2, y + 1), name, fill="black")
    grid.save(out / GRID_FILE)
    return {
        "grid": GRID_FILE,
        "grid_photos": [[p.number, p.instance] for p in photos],
        "grid_captions": [p.target for p in photos],
        "grid_seeds": list(config.validation_seeds),
        "grid_steps": config.validation_steps,
    }
