"""A style LoRA's effect on generation: the held-out photos of its training split, generated from
their training captions with and without the style at the same seeds, compared by CLIP score (each
image against its caption) and by a Frechet distance to those held-out photos (all rotations).

The style folder is what `batik finetune-style` wrote: its manifest names the style, its
training.json the split (`val_photos`) and the caption template, so the held-out photos are exactly
the ones the style never saw.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from evaluation.generation_metrics import clip_scores, frechet_distance


def held_out(style_dir: Path, index_dir: Path) -> tuple[dict[str, Any], list, list]:
    """(manifest, upright held-out pairs to generate from, every held-out pair as the real set)."""
    from services.generation.finetune_style.data import style_pairs

    manifest_path, report_path = style_dir / "manifest.json", style_dir / "training.json"
    if not manifest_path.is_file() or not report_path.is_file():
        raise FileNotFoundError(f"{style_dir} is not a style folder from `batik finetune-style`")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    report = json.loads(report_path.read_text(encoding="utf-8"))
    settings = report["settings"]
    pairs, _ = style_pairs(
        index_dir, settings["template"], settings["facts"], tuple(settings["trigger_words"])
    )
    photos = {tuple(photo) for photo in report["data"]["val_photos"]}
    real = [p for p in pairs if p.photo in photos]
    if not real:
        raise ValueError(f"none of the style's held-out photos are in the index {index_dir}")
    return manifest, [p for p in real if p.rotation == 0], real


def evaluate_style(
    *,
    style_dir: Path,
    index_dir: Path,
    sd: str,
    sd_revision: str | None = None,
    encoder,
    seeds: tuple[int, ...],
    size: int,
    steps: int,
    features: str,
    inception_weights: str | None,
    device: str = "auto",
    out: Path | None = None,
) -> dict[str, Any]:
    from PIL import Image

    from services.common.contracts.generation import GenerateRequest
    from services.generation.generator import SdGenerator

    style_dir = Path(style_dir)
    manifest, prompts, real_pairs = held_out(style_dir, Path(index_dir))
    name = manifest["name"]
    engine = SdGenerator(sd, device=device, revision=sd_revision)
    # The style's parent folder holds it (and perhaps others): loaded as the service loads them.
    engine.load_styles(str(style_dir.parent), None, None)
    if name not in engine.styles.loaded:
        reason = engine.styles.skipped.get(style_dir.name, "not found")
        raise ValueError(f"style {name!r} does not load on {sd}: {reason}")
    arms: dict[str, list] = {"without": [], "with": []}
    captions = []
    for pair in prompts:
        for seed in seeds:
            common = dict(prompt=pair.target, steps=steps, seed=seed, width=size, height=size)
            arms["without"].append(engine.generate(GenerateRequest(**common), None).images[0])
            arms["with"].append(
                engine.generate(GenerateRequest(**common, style=name), None).images[0]
            )
            captions.append(pair.target)
    real = [Image.open(p.image).convert("RGB") for p in real_pairs]
    result: dict[str, Any] = {
        "style": name,
        "version": engine.styles.loaded[name].info.version,
        "distance": "FID" if features == "inception" else "FD over CLIP features",
        "held_out_photos": len(prompts),
        "real_images": len(real),
        "images_per_arm": len(captions),
    }
    for arm, images in arms.items():
        result[arm] = {
            "clip_score": round(
                float(sum(clip_scores(encoder, images, captions)) / len(images)), 4
            ),
            "distance": round(
                frechet_distance(
                    real,
                    images,
                    features=features,
                    encoder=encoder,
                    inception_weights=inception_weights,
                ),
                4,
            ),
        }
    if out is not None:
        _grid(prompts, arms, len(seeds)).save(out / "style_grid.png")
        result["grid"] = "style_grid.png"
    return result


def _grid(prompts, arms, per_photo: int, tile: int = 128):
    """One row per held-out photo: the photo, then without / with the style for each seed."""
    from PIL import Image

    columns = 1 + 2 * per_photo
    canvas = Image.new("RGB", (columns * tile, max(1, len(prompts)) * tile), "white")
    for row, pair in enumerate(prompts):
        with Image.open(pair.image) as photo:
            canvas.paste(photo.convert("RGB").resize((tile, tile)), (0, row * tile))
        for k in range(per_photo):
            index = row * per_photo + k
            for offset, arm in enumerate(("without", "with")):
                image = arms[arm][index].resize((tile, tile))
                canvas.paste(image, ((1 + 2 * k + offset) * tile, row * tile))
    return canvas
