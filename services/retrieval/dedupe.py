"""Collapse near-duplicates: rotations of one source photo (motif + instance) count as one result."""

from __future__ import annotations

from collections.abc import Sequence

from services.retrieval.index import IndexItem


def best_per_source_photo(
    ranked: Sequence[tuple[int, float]], items: Sequence[IndexItem], top_k: int
) -> list[tuple[int, float]]:
    """The first (best) row of each source photo, in rank order, up to `top_k` photos."""
    seen: set[tuple[int, int]] = set()
    kept = []
    for row, score in ranked:
        item = items[row]
        photo = (item.number, item.instance)
        if photo in seen:
            continue
        seen.add(photo)
        kept.append((row, score))
        if len(kept) == top_k:
            break
    return kept
