"""Training pairs from an index directory, split by source photo.

Each indexed image gets a target text built from its motif's metadata with a template (motif name plus
the English description's leading sentences). Rotations of one photo are near-duplicates, so the split
is over source photos (motif number, instance): no rotation of a validation photo is seen in training.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import string
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from services.common.text import sentences

TRAIN_SIZE = 224  # BLIP-2's input size; the index keeps a 224 px copy of every image
_FIELDS = {"name", "facts", "philosophy"}


@dataclass(frozen=True)
class TrainingPair:
    item_id: int
    image: str
    target: str
    number: int
    instance: int
    rotation: int

    @property
    def photo(self) -> tuple[int, int]:
        return (self.number, self.instance)


def check_template(template: str) -> None:
    fields = {f for _, f, _, _ in string.Formatter().parse(template) if f}
    unknown = fields - _FIELDS
    if unknown:
        raise ValueError(
            f"training template uses unknown field(s) {sorted(unknown)}; known: {sorted(_FIELDS)}"
        )


def target_text(motif: dict[str, Any], template: str, facts: int) -> str:
    leading = " ".join(sentences(motif.get("description_en") or "")[:facts])
    text = template.format(
        name=motif.get("name", ""), facts=leading, philosophy=motif.get("philosophy") or ""
    )
    return " ".join(text.split())


def build_pairs(
    index_dir: Path, template: str, facts: int, size: int = TRAIN_SIZE
) -> tuple[list[TrainingPair], str]:
    """Every indexed image (its `size` px copy) with its target text, and the index's version."""
    from services.retrieval.index import MotifIndex

    check_template(template)
    index = MotifIndex(Path(index_dir))
    pairs = []
    for item in index.items:
        motif = index.motifs.get(item.number)
        image = index.image_file(item.id, size)
        if motif is None or image is None or not image.is_file():
            continue
        pairs.append(
            TrainingPair(
                item_id=item.id,
                image=str(image),
                target=target_text(motif, template, facts),
                number=item.number,
                instance=item.instance,
                rotation=item.rotation,
            )
        )
    if not pairs:
        raise ValueError(f"{index_dir} holds no images with motif metadata to train on")
    return pairs, index.version


def split_by_photo(
    pairs: list[TrainingPair], val_fraction: float, seed: int
) -> tuple[list[TrainingPair], list[TrainingPair]]:
    """(train, validation), with every rotation of a source photo on the same side."""
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val fraction must be in [0, 1), got {val_fraction}")
    photos = sorted({p.photo for p in pairs})
    random.Random(seed).shuffle(photos)
    n_val = math.ceil(len(photos) * val_fraction) if val_fraction > 0 else 0
    if n_val >= len(photos):
        raise ValueError(
            f"{len(photos)} source photos cannot give a validation fraction of {val_fraction} "
            "and still leave photos to train on"
        )
    val_photos = set(photos[:n_val])
    train = [p for p in pairs if p.photo not in val_photos]
    val = [p for p in pairs if p.photo in val_photos]
    return train, val


def data_checksum(pairs: list[TrainingPair]) -> str:
    """sha256 over every pair's target and image bytes: a changed dataset changes it."""
    digest = hashlib.sha256()
    for pair in sorted(pairs, key=lambda p: p.item_id):
        digest.update(json.dumps(asdict(pair) | {"image": None}, sort_keys=True).encode())
        digest.update(Path(pair.image).read_bytes())
    return digest.hexdigest()
