"""Captioning evaluation: BLEU-4 and ROUGE-L of generated captions against the metadata targets, on
the held-out split of the fine-tuning job, base model against adapter.

With `--adapter`, the split, the target template and the number of facts are read from the adapter's
`training.json`, so the evaluation scores exactly the photos the adapter never saw. Without one, the
same split function runs with the captioning settings' defaults. The metrics are sacrebleu's and
rouge-score's (through the fine-tuning job's own `evaluate`, so both report the same numbers).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from services.captioning.finetune.data import build_pairs, split_by_photo
from services.captioning.finetune.metrics import evaluate

DEFAULT_VAL_FRACTION = 0.15
DEFAULT_SEED = 0


def held_out_pairs(index_dir: Path, adapter: str | None, template: str, facts: int):
    """(pairs, description of where the split came from)."""
    report = Path(adapter) / "training.json" if adapter else None
    if report is not None and report.is_file():
        training = json.loads(report.read_text(encoding="utf-8"))
        hyper = training["hyperparameters"]
        pairs, _ = build_pairs(index_dir, hyper["template"], hyper["facts"])
        val_photos = {tuple(photo) for photo in training["data"]["val_photos"]}
        held_out = [p for p in pairs if p.photo in val_photos]
        return held_out, f"validation split of {report} ({len(val_photos)} source photos)"
    pairs, _ = build_pairs(index_dir, template, facts)
    _, held_out = split_by_photo(pairs, DEFAULT_VAL_FRACTION, DEFAULT_SEED)
    return held_out, (
        f"split_by_photo(val_fraction={DEFAULT_VAL_FRACTION}, seed={DEFAULT_SEED}) "
        "(no adapter training.json)"
    )


def evaluate_captioning(
    index_dir: Path,
    *,
    blip2: str,
    adapter: str | None,
    device: str = "auto",
    revision: str | None = None,
    batch_size: int = 8,
    max_new_tokens: int = 40,
) -> dict[str, Any]:
    from services.captioning.captioner import Blip2Captioner
    from services.captioning.config import CaptioningSettings

    settings = CaptioningSettings()
    pairs, split_source = held_out_pairs(
        index_dir, adapter, settings.train_template, settings.train_facts
    )
    if not pairs:
        raise ValueError(f"the held-out split of {index_dir} is empty: nothing to evaluate")
    results: dict[str, Any] = {"pairs": len(pairs), "split_source": split_source}
    arms = {"base": None, **({"adapter": adapter} if adapter else {})}
    for arm, adapter_source in arms.items():
        captioner = Blip2Captioner(blip2, adapter=adapter_source, device=device, revision=revision)
        scores = evaluate(
            captioner.model,
            captioner.processor,
            pairs,
            batch_size=batch_size,
            max_new_tokens=max_new_tokens,
        )
        results[arm] = {k: scores[k] for k in ("bleu4", "rouge_l")} | {
            "samples": scores["samples"][:10]
        }
    return results
