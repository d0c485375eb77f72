"""Small text helpers shared by ingest and the gateway."""

from __future__ import annotations

import re

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(])")


def sentences(text: str) -> list[str]:
    """Split prose into sentences at `. ! ?` followed by a capital letter or an opening bracket."""
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]
