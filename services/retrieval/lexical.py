"""Lexical search over the motif metadata: BM25 (bm25s) with accent and Javanese spelling folding.

Two BM25 indexes, one document per motif:

- names: the workbook name and every spelling seen in the file names (`7 Sekar Srigadhing 1.jpg`),
  with each pair of adjacent words also joined into one token, so that split and joined spellings
  meet (`Sari Mulat` gives `sari mulat sarimulat`, which matches `Sarimulat`);
- descriptions: the Indonesian and English descriptions.

A motif's lexical score is `NAME_WEIGHT * names + descriptions`. Both the documents and the query go
through `fold`, so both spellings of a name become the same tokens: accents are stripped, then the
Javanese digraphs of the older and the Javanese-flavoured spellings are reduced (dh -> d, th -> t,
dj -> j, tj -> c, oe -> u, sj -> sy) and doubled letters collapse.

The index is a few kilobytes per motif and built when an index directory is loaded (milliseconds for
the 60 motifs of Batik Nitik 960), so a hot reload swaps it together with the vectors.
"""

from __future__ import annotations

import itertools
import logging
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

# Applied in order to each folded word. Javanese written in Latin letters marks the retroflex d/t
# with an h (Srigadhing, Kenthang), which Indonesian spelling drops (Srigading, Kentang); the pre-1972
# Indonesian spelling wrote dj, tj, oe, sj for today's j, c, u, sy.
SPELLING_FOLDS: tuple[tuple[str, str], ...] = (
    ("dh", "d"),
    ("th", "t"),
    ("dj", "j"),
    ("tj", "c"),
    ("oe", "u"),
    ("sj", "sy"),
)
_DOUBLED = re.compile(r"(\w)\1+")
_NOT_WORD = re.compile(r"[\W_]+")

# Function words of both languages, and words every motif's text has: they carry no evidence about
# which motif is meant, and would let a generic query ("batik nitik motif") vote for arbitrary ones.
STOPWORDS = frozenset(
    {
        # Indonesian
        "yang", "dan", "di", "ke", "dari", "ini", "itu", "dengan", "untuk", "pada", "adalah",
        "atau", "dalam", "sebagai", "juga", "oleh", "akan", "tidak", "bahwa", "karena", "agar",
        "dapat", "sebuah", "merupakan", "ada", "para", "nya", "se", "secara", "tersebut", "saling",
        # English
        "the", "a", "an", "and", "of", "in", "on", "to", "is", "are", "with", "for", "as", "by",
        "from", "that", "this", "which", "it", "its", "be", "was", "were", "has", "have", "or",
        "at", "so", "such", "also",
        # every motif's text
        "batik", "nitik", "motif", "motifs", "ragam", "hias",
    }
)  # fmt: skip

# Name matches count twice as much as description matches: a name is what the user means by it.
NAME_WEIGHT = 2.0


def fold_word(word: str) -> str:
    for old, new in SPELLING_FOLDS:
        word = word.replace(old, new)
    return _DOUBLED.sub(r"\1", word)


_FOLDED_STOPWORDS = frozenset(fold_word(w) for w in STOPWORDS)  # "the" folds to "te"


def fold(text: str) -> str:
    """Lowercase, accents stripped, punctuation to spaces, Javanese spelling variants reduced."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(fold_word(w) for w in _NOT_WORD.sub(" ", plain).split())


def tokens(text: str, *, join_pairs: bool = False) -> list[str]:
    """Folded words without stopwords; with `join_pairs`, also each adjacent pair written as one."""
    words = fold(text).split()
    kept = [w for w in words if w not in _FOLDED_STOPWORDS]
    if join_pairs:
        # Joined from the words before stopwords are dropped, so "Sari Mulat" -> "sarimulat".
        kept += [fold_word(a + b) for a, b in itertools.pairwise(words)]
    return kept


def has_words(text: str) -> bool:
    """True when the text holds at least one letter or digit (in any script)."""
    return any(c.isalnum() for c in text)


def file_name_spellings(files: Iterable[str]) -> dict[int, set[str]]:
    """Motif number -> the motif names as spelled in the image file names."""
    from services.retrieval.dataset import parse_image_name

    found: dict[int, set[str]] = {}
    for file in files:
        record = parse_image_name(Path(file))
        if record is not None:
            found.setdefault(record.number, set()).add(record.file_motif_name)
    return found


def _combined(names: np.ndarray, descriptions: np.ndarray) -> np.ndarray:
    return (NAME_WEIGHT * names + descriptions).astype(np.float32)


@dataclass(frozen=True)
class LexicalRanking:
    """Motifs that match, best first, with their BM25 scores and 1-based competition ranks."""

    numbers: list[int]
    scores: list[float]
    ranks: list[int]
    score_of: dict[int, float]  # every motif searched -> its score, 0 when nothing matched
    # every motif searched -> (names, descriptions) BM25, so a hit can say which part matched
    parts_of: dict[int, tuple[float, float]] = field(default_factory=dict)

    def rank_of(self) -> dict[int, tuple[int, float]]:
        return {n: (r, s) for n, r, s in zip(self.numbers, self.ranks, self.scores, strict=True)}


class LexicalIndex:
    """BM25 over each motif's names (workbook + file-name spellings) and descriptions."""

    def __init__(
        self, motifs: Mapping[int, Mapping[str, Any]], spellings: Mapping[int, Iterable[str]]
    ) -> None:
        import bm25s

        # bm25s sets its logger to DEBUG when imported: keep its chatter out of the service's log.
        logging.getLogger("bm25s").setLevel(logging.WARNING)
        self.numbers = sorted(motifs)
        self.names: dict[int, list[str]] = {}
        name_docs, description_docs = [], []
        for number in self.numbers:
            motif = motifs[number]
            names = [str(motif.get("name") or "")]
            names += sorted(s for s in spellings.get(number, ()) if s not in names)
            self.names[number] = [n for n in names if n]
            # Each form once: a name spelled two ways must not count its shared words twice.
            name_docs.append(
                list(dict.fromkeys(t for n in names for t in tokens(n, join_pairs=True)))
            )
            description_docs.append(
                tokens(f"{motif.get('description_id') or ''} {motif.get('description_en') or ''}")
            )
        self._names = bm25s.BM25()
        self._names.index(name_docs, show_progress=False)
        self._descriptions = bm25s.BM25()
        self._descriptions.index(description_docs, show_progress=False)

    @classmethod
    def from_index(cls, motifs: Mapping[int, Mapping[str, Any]], files: Iterable[str]):
        return cls(motifs, file_name_spellings(files))

    def parts(self, query: str) -> tuple[np.ndarray, np.ndarray]:
        """BM25 of the names and of the descriptions, one per motif (in `self.numbers` order)."""
        shape = (len(self.numbers),)
        if not self.numbers:
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.float32)
        name_query = tokens(query, join_pairs=True)
        description_query = tokens(query)
        names = self._names.get_scores(name_query) if name_query else 0.0
        descriptions = (
            self._descriptions.get_scores(description_query) if description_query else 0.0
        )
        return np.broadcast_to(np.asarray(names), shape), np.broadcast_to(
            np.asarray(descriptions), shape
        )

    def scores(self, query: str) -> np.ndarray:
        """One BM25 score per motif (in `self.numbers` order); 0 where nothing matches."""
        return _combined(*self.parts(query))

    def rank(
        self,
        query: str,
        *,
        min_ratio: float = 0.5,
        limit: int = 50,
        allowed: set[int] | None = None,
    ) -> LexicalRanking:
        """Motifs scoring at least `min_ratio` x the best score, best first, at most `limit`.

        The ratio keeps only confident matches in the ranking: a motif that matches one common word
        of a query whose best motif matches all of them does not get a lexical vote at all. Equal
        scores share a rank ("1224"), so a tie is left to the visual channel.
        """
        names, descriptions = self.parts(query)
        scores = _combined(names, descriptions)
        score_of = {
            n: float(s)
            for n, s in zip(self.numbers, scores, strict=True)
            if allowed is None or n in allowed
        }
        parts_of = {
            n: (float(a), float(b))
            for n, a, b in zip(self.numbers, names, descriptions, strict=True)
            if n in score_of
        }
        candidates = [
            (float(s), n)
            for n, s in zip(self.numbers, scores, strict=True)
            if s > 0 and (allowed is None or n in allowed)
        ]
        if not candidates:
            return LexicalRanking([], [], [], score_of, parts_of)
        best = max(s for s, _ in candidates)
        kept = sorted(
            ((s, n) for s, n in candidates if s >= min_ratio * best), key=lambda p: (-p[0], p[1])
        )[:limit]
        ranks = []
        for i, (score, _) in enumerate(kept):
            ranks.append(ranks[-1] if i and score == kept[i - 1][0] else i + 1)
        return LexicalRanking([n for _, n in kept], [s for s, _ in kept], ranks, score_of, parts_of)
