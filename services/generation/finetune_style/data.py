"""Style training data: every indexed 512 px image (its rotations kept as augmentation) with a caption
from a template over the motif's metadata; the split is the captioning fine-tune's, by source photo."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from services.captioning.finetune.data import TrainingPair, build_pairs, check_template

SOURCE_SIZE = 512  # the index's largest copy of every image


def style_pairs(
    index_dir: Path, template: str, facts: int, trigger_words: tuple[str, ...]
) -> tuple[list[TrainingPair], str]:
    """(pairs, index version). Every trigger word must be in every caption, or the style would not
    be tied to it."""
    check_template(template)
    index_dir = Path(index_dir)
    if not (index_dir / "manifest.json").is_file():
        raise FileNotFoundError(f"{index_dir} is not an index directory (no manifest.json)")
    pairs, version = build_pairs(index_dir, template, facts, size=SOURCE_SIZE)
    for word in trigger_words:
        missing = [p for p in pairs if word.lower() not in p.target.lower()]
        if missing:
            raise ValueError(
                f"trigger word {word!r} is not in the caption of {len(missing)} image(s) "
                f"(e.g. {missing[0].target!r}); put it in the template"
            )
    return pairs, version


def pixel_batch(pairs: list[TrainingPair], resolution: int) -> Any:
    """Images as a (N, 3, R, R) float tensor in [-1, 1], resized (square index copies) to R."""
    import numpy as np
    import torch
    from PIL import Image

    arrays = []
    for pair in pairs:
        with Image.open(pair.image) as image:
            image = image.convert("RGB")
            side = min(image.size)
            left, top = (image.width - side) // 2, (image.height - side) // 2
            image = image.crop((left, top, left + side, top + side))
            image = image.resize((resolution, resolution), Image.Resampling.BICUBIC)
            arrays.append(np.asarray(image, dtype=np.float32) / 127.5 - 1.0)
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()


def caption_ids(tokenizer: Any, captions: list[str]) -> Any:
    """Token ids padded and cut to the text encoder's 77-token window, as the pipeline encodes."""
    return tokenizer(
        captions,
        padding="max_length",
        max_length=tokenizer.model_max_length,
        truncation=True,
        return_tensors="pt",
    ).input_ids
