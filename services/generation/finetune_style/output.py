"""The style folder: LoRA weights diffusers loads (`load_lora_weights`) plus manifest.json.

Training works in `<out>.partial` (its checkpoints survive an interruption for `--resume`) and the
finished folder is renamed into place, so a reader never sees half a style.
"""

from __future__ import annotations

import json
import re
import shutil
import uuid
from pathlib import Path
from typing import Any

from services.common.contracts.generation import STYLE_NAME_PATTERN

MANIFEST = "manifest.json"
WEIGHTS = "pytorch_lora_weights.safetensors"
FORMAT = "batik-style/1"
NAME_PATTERN = re.compile(STYLE_NAME_PATTERN)


def check_style_name(name: str) -> None:
    if not NAME_PATTERN.match(name):
        raise ValueError(
            f"style name {name!r}: use 1-64 lower-case letters, digits, '-' or '_' "
            "(starting with a letter or digit)"
        )


def staging_dir(out: Path) -> Path:
    return out.with_name(out.name + ".partial")


def check_out(out: Path, name: str) -> None:
    """`out` is absent, empty, or this same style (retraining replaces it); anything else is refused."""
    if not out.exists():
        return
    if not out.is_dir():
        raise ValueError(f"--out {out} exists and is not a directory")
    manifest = out / MANIFEST
    if manifest.is_file():
        held = json.loads(manifest.read_text(encoding="utf-8")).get("name")
        if held != name:
            raise ValueError(
                f"--out {out} holds the style {held!r}, not {name!r}: choose another folder "
                "or the same --name"
            )
        return
    if any(out.iterdir()):
        raise ValueError(f"--out {out} is a non-empty folder that holds no style")


def manifest_for(components: Any, config: Any, report: dict[str, Any]) -> dict[str, Any]:
    from services.generation.finetune_style.model import TEXT_ENCODER_TARGETS, UNET_TARGETS

    return {
        "format": FORMAT,
        "name": config.name,
        "base_model": report["base_model"],
        "rank": config.rank,
        "alpha": config.rank,
        "targets": {
            "unet": list(UNET_TARGETS),
            "text_encoder": list(TEXT_ENCODER_TARGETS) if config.train_text_encoder else [],
        },
        "trigger_words": list(config.trigger_words),
        "weights": WEIGHTS,
        "resolution": config.resolution,
        "training": {
            "created": report["created"],
            "steps": report["steps"],
            "loss_first_quarter": report["loss_first_quarter"],
            "loss_last_quarter": report["loss_last_quarter"],
            "val_loss_before": report["validation"]["loss_before"],
            "val_loss_after": report["validation"]["loss_after"],
            "index_version": report["data"]["index_version"],
            "train_images": report["data"]["train_images"],
            "precision": report["precision"],
        },
    }


def write_style(staging: Path, components: Any, config: Any, report: dict[str, Any]) -> None:
    from diffusers import StableDiffusionPipeline

    from services.generation.finetune_style.model import lora_state

    layers = lora_state(components)
    StableDiffusionPipeline.save_lora_weights(
        str(staging),
        unet_lora_layers=layers["unet"],
        text_encoder_lora_layers=layers.get("text_encoder"),
        weight_name=WEIGHTS,
        safe_serialization=True,
    )
    manifest = manifest_for(components, config, report)
    (staging / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")


def publish(staging: Path, out: Path) -> None:
    """Rename the finished folder into place (the old copy of the same style goes after)."""
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old-{uuid.uuid4().hex[:8]}")
        out.rename(old)
    staging.rename(out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
