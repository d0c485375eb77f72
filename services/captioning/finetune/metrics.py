"""Validation metrics on generated text: corpus BLEU-4 (sacrebleu) and mean ROUGE-L F1 (rouge-score)."""

from __future__ import annotations

from typing import Any

from PIL import Image

from services.captioning.decoding import DecodingOptions, generate_texts
from services.captioning.finetune.data import TrainingPair
from services.captioning.hygiene import strip_prompt_echo


def bleu4(hypotheses: list[str], references: list[str]) -> float:
    import sacrebleu

    return float(sacrebleu.corpus_bleu(hypotheses, [references]).score)


def rouge_l(hypotheses: list[str], references: list[str]) -> float:
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    scores = [
        scorer.score(ref, hyp)["rougeL"].fmeasure
        for hyp, ref in zip(hypotheses, references, strict=True)
    ]
    return 100.0 * sum(scores) / len(scores) if scores else 0.0


def generate_captions(
    model: Any,
    processor: Any,
    pairs: list[TrainingPair],
    *,
    batch_size: int,
    max_new_tokens: int,
) -> list[str]:
    """Greedy captions with the serving decoder (no prompt, as the gateway asks)."""
    import torch

    captions: list[str] = []
    was_training = model.training
    model.eval()
    with torch.inference_mode():
        for start in range(0, len(pairs), batch_size):
            batch = pairs[start : start + batch_size]
            images = [Image.open(p.image).convert("RGB") for p in batch]
            texts = generate_texts(
                model,
                processor,
                images,
                None,
                max_new_tokens=max_new_tokens,
                options=DecodingOptions(),
            )
            captions += [strip_prompt_echo(t, None) for t in texts]
    model.train(was_training)
    return captions


def evaluate(
    model: Any,
    processor: Any,
    pairs: list[TrainingPair],
    *,
    batch_size: int,
    max_new_tokens: int,
) -> dict[str, Any] | None:
    """BLEU-4 and ROUGE-L (0-100) of generated captions against the targets; None without pairs."""
    if not pairs:
        return None
    hypotheses = generate_captions(
        model, processor, pairs, batch_size=batch_size, max_new_tokens=max_new_tokens
    )
    references = [p.target for p in pairs]
    return {
        "bleu4": round(bleu4(hypotheses, references), 4),
        "rouge_l": round(rouge_l(hypotheses, references), 4),
        "pairs": len(pairs),
        # Every generated caption, so the scores can be checked and read against the targets.
        "samples": [
            {"image": p.item_id, "generated": h, "target": p.target}
            for p, h in zip(pairs, hypotheses, strict=True)
        ],
    }
