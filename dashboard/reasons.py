"""Why a reference card sits where it does: the channels of retrieval's fused ranking.

A fused hit is ordered by reciprocal rank fusion of the visual (CLIP) ranking and the lexical one
(BM25 over the motif's names and descriptions), so its cosine alone does not explain its place:
the card says which channels ranked it, and where.
"""

from __future__ import annotations

from dashboard.labels import label
from services.common.contracts.retrieval import Hit


def why(hit: Hit, language: str = "en") -> str:
    """`name match #1 · visual #7`, `visual #3`, ... for one hit."""
    parts = []
    lexical = hit.lexical
    if lexical is not None and lexical.rank is not None:
        matched = [
            label(key, language)
            for key, score in (
                ("why.name", lexical.names),
                ("why.description", lexical.descriptions),
            )
            if score
        ]
        parts.append(f"{' + '.join(matched or [label('why.words', language)])} #{lexical.rank}")
    visual = hit.visual
    if visual is not None and visual.rank is not None:
        parts.append(f"{label('why.visual', language)} #{visual.rank}")
    elif hit.fused_score is not None:
        parts.append(label("why.not_visual", language))
    return " · ".join(parts)
