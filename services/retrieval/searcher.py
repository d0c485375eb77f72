"""Search: a query vector (and the query's text) -> ranked hits with their motif metadata.

Text queries also go through the lexical channel (BM25 over the motif metadata, lexical.py), and the
two rankings are fused by weighted reciprocal rank fusion (fusion.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from services.common.contracts.retrieval import (
    ChannelScore,
    Hit,
    Motif,
    QueryInfo,
    SearchDetails,
    SearchResponse,
)
from services.common.errors import InvalidInputError
from services.retrieval.dedupe import best_per_source_photo
from services.retrieval.faiss_index import SearchOptions
from services.retrieval.fusion import (
    DEFAULT_K_LEXICAL,
    DEFAULT_K_VISUAL,
    reciprocal_rank_fusion,
)
from services.retrieval.index import MotifIndex
from services.retrieval.language import detect_language
from services.retrieval.lexical import LexicalIndex, has_words
from services.retrieval.query_encoder import QueryEncoder
from services.retrieval.served_index import ServedIndex

# Cap on neighbours fetched so that dedupe still finds `top_k` distinct photos.
_MAX_CANDIDATES = 10_000
# How deep the visual list goes when it is fused with the lexical one (photos, or rows without
# dedupe): a hit further down gets no visual term, as in any RRF over truncated lists.
FUSION_DEPTH = 100
# Most motifs the lexical channel ranks.
LEXICAL_DEPTH = 50

Unit = tuple[int, int] | int  # what a hit stands for: a source photo (dedupe) or an index row


@dataclass(frozen=True)
class Ranking:
    """How text queries are ranked: the lexical share and the fusion constants."""

    lexical_weight: float = 0.5
    lexical_min_ratio: float = 0.5
    k_lexical: float = DEFAULT_K_LEXICAL
    k_visual: float = DEFAULT_K_VISUAL
    detect_language: bool = True

    def __post_init__(self) -> None:
        if not 0.0 <= self.lexical_weight <= 1.0:
            raise ValueError(f"lexical_weight must be in [0, 1], got {self.lexical_weight}")

    @property
    def version(self) -> str:
        return (
            f"rrf(w={self.lexical_weight:g},min={self.lexical_min_ratio:g},"
            f"k={self.k_lexical:g}/{self.k_visual:g})"
        )


@dataclass(frozen=True)
class Fusion:
    """One text query's fusion: the visual list it starts from and what it may add."""

    index: MotifIndex
    lexical_index: LexicalIndex
    text: str
    vector: np.ndarray
    ranked: list[tuple[int, float]]  # the visual list: (row, cosine), best first
    weight: float  # the lexical share
    top_k: int
    dedupe: bool
    motifs: list[int] | None


class Searcher:
    def __init__(
        self, encoder: QueryEncoder, served: ServedIndex, ranking: Ranking | None = None
    ) -> None:
        self.encoder = encoder
        self.served = served
        self.ranking = ranking or Ranking()

    def search(
        self,
        text: str | None = None,
        image: Image.Image | None = None,
        top_k: int = 5,
        text_weight: float = 0.5,
        *,
        dedupe: bool = True,
        motifs: list[int] | None = None,
        nprobe: int | None = None,
        ef_search: int | None = None,
        lexical_weight: float | None = None,
    ) -> SearchResponse:
        loaded = self.served.current  # one index for the whole call, whatever a reload does
        index = loaded.index
        if text is not None and not has_words(text):
            raise InvalidInputError("text must hold at least one letter or digit")
        weight = self.ranking.lexical_weight if lexical_weight is None else lexical_weight
        if not 0.0 <= weight <= 1.0:
            raise InvalidInputError(f"lexical_weight must be in [0, 1], got {weight}")
        allowed = index.rows_of_motifs(motifs) if motifs is not None else None
        vector = self.encoder.vector(text, image, text_weight)
        fuse = text is not None and weight > 0 and loaded.lexical is not None
        # The visual list goes deeper when it is fused: a lexical match may lift a photo from it.
        depth = max(top_k, FUSION_DEPTH) if fuse else top_k
        ranked, details = _visual(
            index, vector, depth, dedupe, allowed, SearchOptions(nprobe=nprobe, ef_search=ef_search)
        )
        if fuse:
            assert text is not None and loaded.lexical is not None
            fusion = Fusion(
                index=index,
                lexical_index=loaded.lexical,
                text=text,
                vector=vector,
                ranked=ranked,
                weight=weight,
                top_k=top_k,
                dedupe=dedupe,
                motifs=motifs,
            )
            hits = self._fused_hits(fusion, details)
        else:
            hits = [
                _hit(index, row, score, visual=ChannelScore(score=score, rank=rank))
                for rank, (row, score) in enumerate(ranked[:top_k], start=1)
            ]
        return SearchResponse(
            hits=hits,
            index=self.served.info(index),
            search=details,
            query=self._query_info(text, weight if fuse else 0.0),
        )

    def _query_info(self, text: str | None, lexical_weight: float) -> QueryInfo:
        """What the answer says about the query: its language, the text tower, how it was ranked."""
        detected = (
            detect_language(text) if text is not None and self.ranking.detect_language else None
        )
        return QueryInfo(
            language=detected.language if detected else None,
            language_confidence=detected.confidence if detected else None,
            text_model=self.encoder.text_encoder.source if text is not None else None,
            lexical_weight=lexical_weight,
            fusion="rrf" if lexical_weight > 0 else "visual",
        )

    def _fused_hits(self, fusion: Fusion, details: SearchDetails) -> list[Hit]:
        """Weighted RRF of the visual list (photos, or rows) and the lexical one (motifs).

        `details` counts the candidates of the extra searches below."""
        index, items = fusion.index, fusion.index.items

        def unit(row: int) -> Unit:
            return (items[row].number, items[row].instance) if fusion.dedupe else row

        best: dict[Unit, tuple[int, float]] = {}
        visual_ranks: dict[Unit, int] = {}
        for rank, (row, score) in enumerate(fusion.ranked, start=1):
            visual_ranks[unit(row)] = rank
            best[unit(row)] = (row, score)
        lexical = fusion.lexical_index.rank(
            fusion.text,
            min_ratio=self.ranking.lexical_min_ratio,
            limit=LEXICAL_DEPTH,
            allowed=set(fusion.motifs) if fusion.motifs is not None else None,
        )
        # Photos of lexically matched motifs that are not in the visual list: their best rows and
        # true cosines, from an exact search restricted to that motif.
        per_motif = fusion.top_k * index.max_rows_per_photo if fusion.dedupe else fusion.top_k
        for number in lexical.numbers:
            rows = index.rows_of_motifs([number])
            if not len(rows):  # in the metadata, but no image of it was indexed
                continue
            found = index.search(
                fusion.vector,
                min(len(rows), per_motif, _MAX_CANDIDATES),
                allowed_rows=rows,
                options=SearchOptions(nprobe=details.nprobe, ef_search=details.ef_search),
            )
            details.candidates += len(found.rows)
            details.exact = details.exact and found.exact
            for row, score in zip(found.rows, found.scores, strict=True):
                best.setdefault(unit(row), (row, score))
        lexical_rank = lexical.rank_of()
        lexical_ranks = {
            key: lexical_rank[items[row].number][0]
            for key, (row, _) in best.items()
            if items[row].number in lexical_rank
        }
        fused = reciprocal_rank_fusion(
            visual_ranks,
            lexical_ranks,
            fusion.weight,
            k_lexical=self.ranking.k_lexical,
            k_visual=self.ranking.k_visual,
        )
        hits = []
        for entry in fused[: fusion.top_k]:
            row, score = best[entry.key]
            number = items[row].number
            hits.append(
                _hit(
                    index,
                    row,
                    score,
                    fused_score=entry.score,
                    visual=ChannelScore(score=score, rank=entry.visual_rank),
                    lexical=ChannelScore(
                        score=lexical.score_of.get(number, 0.0),
                        rank=entry.lexical_rank,
                        names=lexical.parts_of.get(number, (0.0, 0.0))[0],
                        descriptions=lexical.parts_of.get(number, (0.0, 0.0))[1],
                    ),
                )
            )
        return hits


def _visual(
    index: MotifIndex,
    vector: np.ndarray,
    depth: int,
    dedupe: bool,
    allowed: np.ndarray | None,
    options: SearchOptions,
) -> tuple[list[tuple[int, float]], SearchDetails]:
    """The visual list, `depth` long: (row, cosine) best first, one per source photo with dedupe."""
    # Each photo has at most `max_rows_per_photo` rows, so this many neighbours always hold
    # `depth` distinct photos when the index has them.
    wanted = depth * index.max_rows_per_photo if dedupe else depth
    result = index.search(
        vector, min(wanted, _MAX_CANDIDATES), allowed_rows=allowed, options=options
    )
    ranked = list(zip(result.rows, result.scores, strict=True))
    if dedupe:
        ranked = best_per_source_photo(ranked, index.items, depth)
    details = SearchDetails(
        exact=result.exact,
        candidates=len(result.rows),
        deduped=dedupe,
        nprobe=result.nprobe,
        ef_search=result.ef_search,
    )
    return ranked, details


def _hit(
    index: MotifIndex,
    row: int,
    score: float,
    *,
    fused_score: float | None = None,
    visual: ChannelScore | None = None,
    lexical: ChannelScore | None = None,
) -> Hit:
    item = index.items[row]
    return Hit(
        id=item.id,
        score=score,
        motif=Motif(**index.motifs[item.number]),
        file=item.file,
        instance=item.instance,
        rotation=item.rotation,
        fused_score=fused_score,
        visual=visual,
        lexical=lexical,
    )
