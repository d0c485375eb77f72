"""Query language: Indonesian or English, with lingua's detector restricted to those two.

The detector is built on first use (lingua loads its models lazily too), once per process, and is
thread-safe for reads. Motif names are Javanese words, which the two-language detector calls
Indonesian: that is the language of the dataset's own descriptions of them, so it is the useful answer.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache

LANGUAGES = ("id", "en")
_lock = threading.Lock()


@dataclass(frozen=True)
class DetectedLanguage:
    language: str  # "id" or "en"
    confidence: float  # in [0, 1]; the two languages' confidences add up to 1


@lru_cache(maxsize=1)
def _detector():
    from lingua import Language, LanguageDetectorBuilder

    detector = LanguageDetectorBuilder.from_languages(Language.INDONESIAN, Language.ENGLISH).build()
    return detector, {Language.INDONESIAN: "id", Language.ENGLISH: "en"}


def detect_language(text: str) -> DetectedLanguage | None:
    """The more likely of Indonesian and English; None for text with no letters."""
    if not any(c.isalpha() for c in text):
        return None
    with _lock:  # one build, even when the first queries arrive together
        detector, codes = _detector()
    values = detector.compute_language_confidence_values(text)
    if not values or values[0].value <= 0:
        return None
    return DetectedLanguage(codes[values[0].language], round(float(values[0].value), 4))
