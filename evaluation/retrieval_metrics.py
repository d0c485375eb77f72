"""Retrieval evaluation over an index directory, leak-free and leaky side by side.

Image-to-image: every indexed image queries all the others; relevant = same motif. The leak-free
protocol removes the query's whole source photo (all its rotations) from the ranking before scoring;
the leaky one removes only the query image itself, so a rotated copy of the query counts as a hit, as a
random split of the dataset would let it. Text-to-image: each motif's name, and separately its English
description, queries all images.

Scores are exact: the full similarity matrix, whatever ANN index type the service uses.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from services.retrieval.encoder import ClipEncoder
from services.retrieval.index import MotifIndex


@dataclass
class RankingScores:
    """Accumulates per-query ranking metrics."""

    top1: list[float] = field(default_factory=list)
    top5: list[float] = field(default_factory=list)
    average_precision: list[float] = field(default_factory=list)
    top_cosine: list[float] = field(default_factory=list)
    not_evaluable: int = 0

    def add(self, scores: np.ndarray, relevant: np.ndarray) -> bool:
        """One query: `scores` and `relevant` over the candidates left after exclusion."""
        if not relevant.any():
            self.not_evaluable += 1  # nothing relevant is left to find: no score either way
            return False
        import torch
        from torchmetrics.functional.retrieval import retrieval_average_precision

        order = np.argsort(-scores, kind="stable")
        ranked = relevant[order]
        self.top1.append(float(ranked[0]))
        self.top5.append(float(ranked[:5].any()))
        self.average_precision.append(
            float(retrieval_average_precision(torch.from_numpy(scores), torch.from_numpy(relevant)))
        )
        self.top_cosine.append(float(scores[order[0]]))
        return True

    def summary(self) -> dict[str, Any]:
        def mean(values: list[float]) -> float | None:
            return round(float(np.mean(values)), 4) if values else None

        return {
            "top1": mean(self.top1),
            "top5": mean(self.top5),
            "map": mean(self.average_precision),
            "mean_top_cosine": mean(self.top_cosine),
            "queries": len(self.top1),
            "not_evaluable": self.not_evaluable,
        }


def item_vectors(index: MotifIndex, encoder: ClipEncoder) -> np.ndarray:
    """The indexed vectors; re-embedded from the stored images when the index cannot give them back."""
    try:
        return index.index.reconstruct_n(0, index.size)
    except RuntimeError:
        from PIL import Image

        images = [Image.open(index.image_file(i, 512)).convert("RGB") for i in range(index.size)]
        return encoder.embed_images(images)


def precision_recall_curve(
    scores: np.ndarray, relevant: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Precision interpolated at 11 recall levels (0, 0.1, ... 1), for plotting."""
    import torch
    from torchmetrics.functional.retrieval import retrieval_precision_recall_curve

    precision, recall, _ = retrieval_precision_recall_curve(
        torch.from_numpy(scores), torch.from_numpy(relevant), max_k=len(scores)
    )
    precision, recall = precision.numpy(), recall.numpy()
    levels = np.linspace(0, 1, 11)
    interpolated = [
        precision[recall >= level].max() if (recall >= level).any() else 0.0 for level in levels
    ]
    return levels, np.asarray(interpolated)


def evaluate_retrieval(index: MotifIndex, encoder: ClipEncoder, progress=None) -> dict[str, Any]:
    vectors = item_vectors(index, encoder)
    similarity = vectors @ vectors.T
    numbers = np.array([item.number for item in index.items])
    photos = np.array([item.number * 10_000 + item.instance for item in index.items])

    leak_free, leaky = RankingScores(), RankingScores()
    per_motif: dict[int, list[float]] = defaultdict(list)
    curves = []
    for i in range(index.size):
        relevant = numbers == numbers[i]
        keep_leaky = np.arange(index.size) != i
        keep = photos != photos[i]
        leaky.add(similarity[i, keep_leaky], relevant[keep_leaky])
        if leak_free.add(similarity[i, keep], relevant[keep]):
            per_motif[int(numbers[i])].append(leak_free.top1[-1])
            curves.append(precision_recall_curve(similarity[i, keep], relevant[keep])[1])
        if progress:
            progress.update(1)

    text_results = {}
    for kind in ("name", "description_en"):
        numbers_with_text = [n for n, m in sorted(index.motifs.items()) if m.get(kind)]
        queries = encoder.embed_texts([index.motifs[n][kind] for n in numbers_with_text])
        scores = RankingScores()
        for number, query in zip(numbers_with_text, queries, strict=True):
            scores.add(vectors @ query, numbers == number)
        text_results[kind] = scores.summary()

    return {
        "image_to_image": {"leak_free": leak_free.summary(), "leaky": leaky.summary()},
        "text_to_image": text_results,
        "per_motif_top1": {
            str(n): round(float(np.mean(v)), 4) for n, v in sorted(per_motif.items())
        },
        "pr_curve": {
            "recall": np.linspace(0, 1, 11).round(2).tolist(),
            "precision": np.mean(curves, axis=0).round(4).tolist() if curves else [],
        },
    }


# -- text queries through the service's ranking (visual, lexical, fused) -------------------------


def text_query_sets(index: MotifIndex) -> dict[str, list[tuple[int, str]]]:
    """(number, query) per motif: the three sets of the multilingual/lexical evaluation.

    - `name_workbook`: each motif's name as the workbook writes it;
    - `name_files`: as the image file names write it (the same for 48 of the 60 motifs);
    - `name_files_differing`: only the motifs whose two spellings differ (12 in Batik Nitik 960);
    - `description_id_first_sentence`: the first sentence of the Indonesian description;
    - `description_id_first_sentence_no_name`: the same without the words of the motif's names,
      so that the lexical channel cannot simply match the name (queries left empty are dropped).
    """
    from services.common.text import sentences
    from services.retrieval.lexical import file_name_spellings, fold, tokens

    spelled = file_name_spellings(item.file for item in index.items)
    sets: dict[str, list[tuple[int, str]]] = {
        "name_workbook": [],
        "name_files": [],
        "name_files_differing": [],
        "description_id_first_sentence": [],
        "description_id_first_sentence_no_name": [],
    }
    for number, motif in sorted(index.motifs.items()):
        name = str(motif.get("name") or "")
        if name:
            sets["name_workbook"].append((number, name))
        for spelling in sorted(spelled.get(number, ())):
            sets["name_files"].append((number, spelling))
            if spelling != name:
                sets["name_files_differing"].append((number, spelling))
        first = sentences(str(motif.get("description_id") or ""))
        if first:
            sets["description_id_first_sentence"].append((number, first[0]))
            rest = _without_name(first[0], {name, *spelled.get(number, ())}, fold, tokens)
            if tokens(rest):
                sets["description_id_first_sentence_no_name"].append((number, rest))
    return sets


def _without_name(sentence: str, names: set[str], fold, tokens) -> str:
    """The sentence without the words of `names`, split or joined ("sri gading" / "Srigading")."""
    name_words = {t for n in names for t in tokens(n, join_pairs=True)}
    words = sentence.split()
    drop: set[int] = set()
    for i, word in enumerate(words):
        if set(fold(word).split()) & name_words:
            drop.add(i)
        elif i + 1 < len(words) and fold(word + words[i + 1]) in name_words:
            drop.update((i, i + 1))
    return " ".join(w for i, w in enumerate(words) if i not in drop)


def evaluate_text_channels(
    engine,
    query_sets: dict[str, list[tuple[int, str]]],
    configurations: dict[str, float],
    *,
    top_k: int = 5,
) -> dict[str, dict[str, dict[str, Any]]]:
    """Top-1 / Top-5 of each query set ranked by the retrieval engine's own search.

    `configurations` names a `lexical_weight` each (0: the visual ranking alone; 1: lexical first,
    visual only breaking ties). A hit is right when its motif is the query's; Top-5 counts the
    first 5 distinct source photos (the service's default dedupe), not rotations of one photo.
    """
    results: dict[str, dict[str, dict[str, Any]]] = {}
    for set_name, queries in query_sets.items():
        results[set_name] = {}
        for config, weight in configurations.items():
            top1, top5 = [], []
            for number, text in queries:
                hits = engine.searcher.search(text, top_k=top_k, lexical_weight=weight).hits
                found = [hit.motif.number for hit in hits]
                top1.append(bool(found) and found[0] == number)
                top5.append(number in found[:5])
            results[set_name][config] = {
                "top1": round(float(np.mean(top1)), 4) if queries else None,
                "top5": round(float(np.mean(top5)), 4) if queries else None,
                "queries": len(queries),
            }
    return results


def evaluate_channels(
    clip: str,
    index_dir: Path,
    *,
    text_model: str | None,
    weight: float,
    device: str = "auto",
    revision: str | None = None,
) -> dict[str, dict[str, dict[str, Any]]]:
    """Every text query set ranked by a retrieval engine loaded on `index_dir`: the visual channel
    alone, the lexical channel alone, and both fused at `weight`."""
    from services.retrieval.engine import RetrievalEngine
    from services.retrieval.searcher import Ranking

    engine = RetrievalEngine.load(
        clip,
        str(index_dir),
        device=device,
        dtype="auto",
        batch_size=32,
        text_model=text_model,
        ranking=Ranking(lexical_weight=weight),
        model_revision=revision,
    )
    try:
        configurations = {"visual": 0.0, "lexical": 1.0, f"fused (w={weight:g})": weight}
        return evaluate_text_channels(engine, text_query_sets(engine.index), configurations)
    finally:
        engine.close()
