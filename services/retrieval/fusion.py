"""Weighted reciprocal rank fusion of the visual (CLIP) and lexical (BM25) rankings.

    fused(d) = w / (k_lexical + lexical_rank(d)) + (1 - w) / (k_visual + visual_rank(d))

A term is left out when `d` is not in that channel's list. `w` is `lexical_weight`.

Why the two k differ. RRF's usual k = 60 (Cormack, Clarke and Buettcher, 2009) flattens a list's
head: ranks 1 and 2 then score 1/61 and 1/62, so with one k = 60 for both channels a motif that is
first by name but last visually loses to the second lexical match that happens to be first visually.
The visual channel keeps k = 60 (its ranks are over every photo, and any of them may be the best),
while the lexical channel, which ranks motifs and lists only confident matches (BM25 scores within a
ratio of the best; see lexical.py), gets k = 1. Then the gap between lexical ranks 1 and 2,
`w / ((k_l + 1)(k_l + 2))` = w / 6, exceeds anything the visual channel can add, `(1 - w) / (k_v + 1)`
= (1 - w) / 61, whenever w > 6 / 67 = 0.09: the lexical first stays first WHATEVER the visual ranks
(`lexical_dominates` computes this bound). With the default w = 0.5 the margin is wide; below the
bound the visual channel can overrule names, which is what a client asking for a small weight wants.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass

DEFAULT_K_LEXICAL = 1.0
DEFAULT_K_VISUAL = 60.0


def lexical_dominates(weight: float, k_lexical: float, k_visual: float) -> bool:
    """True when a lexical first can never be outranked because of visual ranks."""
    lexical_gap = weight * (1.0 / (k_lexical + 1) - 1.0 / (k_lexical + 2))
    visual_range = (1.0 - weight) / (k_visual + 1)
    return lexical_gap > visual_range


@dataclass(frozen=True)
class Fused:
    key: Hashable
    score: float
    visual_rank: int | None
    lexical_rank: int | None


def reciprocal_rank_fusion(
    visual: Mapping[Hashable, int],
    lexical: Mapping[Hashable, int],
    weight: float,
    *,
    k_lexical: float = DEFAULT_K_LEXICAL,
    k_visual: float = DEFAULT_K_VISUAL,
) -> list[Fused]:
    """Every key of either map, best fused score first.

    `visual` and `lexical` map keys to 1-based ranks. Ties are broken by the visual rank (keys
    missing from the visual list after those in it), then by the order of `visual`, then of
    `lexical`, so the result is deterministic. With `weight` 0 the order is the visual order.
    """
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"lexical_weight must be in [0, 1], got {weight}")
    order = {key: i for i, key in enumerate([*visual, *(k for k in lexical if k not in visual)])}
    fused = []
    for key in order:
        v, lex = visual.get(key), lexical.get(key)
        score = 0.0
        if lex is not None:
            score += weight / (k_lexical + lex)
        if v is not None:
            score += (1.0 - weight) / (k_visual + v)
        fused.append(Fused(key, score, v, lex))
    missing = len(order) + 1
    fused.sort(
        key=lambda f: (
            -f.score,
            f.visual_rank if f.visual_rank is not None else missing,
            order[f.key],
        )
    )
    return fused
