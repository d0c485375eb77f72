"""Search: query text and/or image -> CLIP vector -> FAISS neighbours with their motif metadata.

Text queries also go through the lexical channel (BM25 over the motif metadata, lexical.py), and the
two rankings are fused by weighted reciprocal rank fusion (fusion.py). Texts are embedded by CLIP's
text tower, or by a multilingual tower aligned to it when one is configured; images always by CLIP.

The engine holds one loaded index at a time. A reload builds the new one beside it and swaps the
reference; every search reads the reference once, so it finishes on the index it started with.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import numpy as np
from PIL import Image

from services.common.contracts.retrieval import (
    ChannelScore,
    EmbedResponse,
    Hit,
    IndexInfo,
    IndexStatus,
    Motif,
    QueryInfo,
    ReloadResponse,
    SearchDetails,
    SearchResponse,
)
from services.common.errors import BusyError, InvalidInputError, NotFoundError
from services.retrieval.batching import MicroBatcher
from services.retrieval.dedupe import best_per_source_photo
from services.retrieval.encoder import ClipEncoder
from services.retrieval.faiss_index import SearchOptions
from services.retrieval.fusion import (
    DEFAULT_K_LEXICAL,
    DEFAULT_K_VISUAL,
    reciprocal_rank_fusion,
)
from services.retrieval.index import IndexNotFound, InvalidIndex, MotifIndex
from services.retrieval.language import detect_language
from services.retrieval.lexical import LexicalIndex, has_words

log = logging.getLogger(__name__)

# Cap on neighbours fetched so that dedupe still finds `top_k` distinct photos.
_MAX_CANDIDATES = 10_000
# How deep the visual list goes when it is fused with the lexical one (photos, or rows without
# dedupe): a hit further down gets no visual term, as in any RRF over truncated lists.
FUSION_DEPTH = 100
# Most motifs the lexical channel ranks.
LEXICAL_DEPTH = 50


class TextEncoder(Protocol):
    source: str
    version: str
    dim: int
    batch_size: int

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray: ...


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
class LoadedIndex:
    index: MotifIndex
    loaded_at: str
    load_seconds: float
    lexical: LexicalIndex | None = field(default=None, compare=False)


def load_index(directory: Path, device: str) -> LoadedIndex:
    started = time.perf_counter()
    index = MotifIndex(directory, device=device)
    # The lexical index is built from the same directory, so a reload swaps both together.
    lexical = LexicalIndex.from_index(index.motifs, (item.file for item in index.items))
    return LoadedIndex(
        index=index,
        loaded_at=datetime.now(UTC).isoformat(timespec="seconds"),
        load_seconds=round(time.perf_counter() - started, 3),
        lexical=lexical,
    )


class RetrievalEngine:
    def __init__(
        self,
        encoder: ClipEncoder,
        loaded: LoadedIndex,
        *,
        batch_wait_ms: float = 2.0,
        index_device: str = "cpu",
        text_encoder: TextEncoder | None = None,
        ranking: Ranking | None = None,
    ) -> None:
        loaded.index.check_model(encoder.version, encoder.dim)
        if text_encoder is not None and text_encoder.dim != encoder.dim:
            raise ValueError(
                f"the text model {text_encoder.source} gives {text_encoder.dim}-dimensional "
                f"vectors but {encoder.source} gives {encoder.dim}: a multilingual text tower "
                "must be aligned to the CLIP model that built the index"
            )
        self.encoder = encoder
        # Texts: the multilingual tower when there is one; images: always CLIP's image tower.
        self.text_encoder: TextEncoder = text_encoder or encoder
        self.ranking = ranking or Ranking()
        self._loaded = loaded
        self._index_device = index_device
        self._reload_lock = threading.Lock()
        self.text_batcher: MicroBatcher[str] = MicroBatcher(
            self.text_encoder.embed_texts,
            max_batch=self.text_encoder.batch_size,
            max_wait_s=batch_wait_ms / 1000,
            name="embed-texts",
        )
        self.image_batcher: MicroBatcher[Image.Image] = MicroBatcher(
            encoder.embed_images,
            max_batch=encoder.batch_size,
            max_wait_s=batch_wait_ms / 1000,
            name="embed-images",
        )

    @classmethod
    def load(
        cls,
        model: str,
        index_dir: str,
        *,
        device: str,
        dtype: str,
        batch_size: int,
        batch_wait_ms: float = 2.0,
        text_model: str | None = None,
        ranking: Ranking | None = None,
    ) -> RetrievalEngine:
        # The index is read first: a missing index fails in milliseconds, not after a model load.
        loaded = load_index(Path(index_dir), device)
        encoder = ClipEncoder(model, device=device, dtype=dtype, batch_size=batch_size)
        text_encoder = None
        if text_model:
            from services.retrieval.multilingual import MultilingualTextEncoder

            text_encoder = MultilingualTextEncoder(
                text_model, device=device, dtype=dtype, batch_size=batch_size
            )
        ranking = ranking or Ranking()
        if ranking.detect_language:
            detect_language("warm up")  # lingua loads its models on first use: not in a request
        return cls(
            encoder,
            loaded,
            batch_wait_ms=batch_wait_ms,
            index_device=device,
            text_encoder=text_encoder,
            ranking=ranking,
        )

    @property
    def index(self) -> MotifIndex:
        return self._loaded.index

    # -- embeddings -------------------------------------------------------------------------

    def embed_texts(self, texts: list[str]) -> np.ndarray:
        return self.text_batcher.embed(texts).reshape(len(texts), self.text_encoder.dim)

    def embed_images(self, images: list[Image.Image]) -> np.ndarray:
        return self.image_batcher.embed(images).reshape(len(images), self.encoder.dim)

    def embed(self, texts: list[str], images: list[Image.Image]) -> EmbedResponse:
        # Both kinds are queued before waiting on either, so their batches run side by side.
        text_futures = self.text_batcher.submit(texts)
        image_futures = self.image_batcher.submit(images)
        return EmbedResponse(
            model=self.encoder.source,
            model_version=self.encoder.version,
            dim=self.encoder.dim,
            texts=[f.result().tolist() for f in text_futures],
            images=[f.result().tolist() for f in image_futures],
            text_model=self.text_encoder.source,
        )

    def query_vector(
        self, text: str | None, image: Image.Image | None, text_weight: float = 0.5
    ) -> np.ndarray:
        """Unit vector for the query; with both inputs, the normalised weighted sum."""
        if text is None and image is None:
            raise ValueError("a query needs text, an image or both")
        if not 0.0 <= text_weight <= 1.0:
            raise ValueError(f"text_weight must be in [0, 1], got {text_weight}")
        text_future = self.text_batcher.submit([text])[0] if text is not None else None
        image_future = self.image_batcher.submit([image])[0] if image is not None else None
        if image_future is None:
            return text_future.result()
        if text_future is None:
            return image_future.result()
        vector = text_weight * text_future.result() + (1.0 - text_weight) * image_future.result()
        norm = float(np.linalg.norm(vector))
        if norm < 1e-6:  # text and image embeddings exactly opposite at this weight
            raise ValueError("text and image cancel out at this text_weight; change it")
        return (vector / norm).astype(np.float32)

    # -- search -----------------------------------------------------------------------------

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
        loaded = self._loaded  # one index for the whole call, whatever a reload does meanwhile
        index = loaded.index
        if text is not None and not has_words(text):
            raise ValueError("text must hold at least one letter or digit")
        weight = self.ranking.lexical_weight if lexical_weight is None else lexical_weight
        if not 0.0 <= weight <= 1.0:
            raise ValueError(f"lexical_weight must be in [0, 1], got {weight}")
        allowed = index.rows_of_motifs(motifs) if motifs is not None else None
        vector = self.query_vector(text, image, text_weight)
        options = SearchOptions(nprobe=nprobe, ef_search=ef_search)
        fuse = text is not None and weight > 0 and loaded.lexical is not None
        # The visual list goes deeper when it is fused: a lexical match may lift a photo from it.
        depth = max(top_k, FUSION_DEPTH) if fuse else top_k
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
        if fuse:
            hits = self._fused_hits(
                index, loaded.lexical, text, vector, ranked, weight, top_k, dedupe, motifs, details
            )
        else:
            hits = [
                self._hit(index, row, score, visual=ChannelScore(score=score, rank=rank))
                for rank, (row, score) in enumerate(ranked[:top_k], start=1)
            ]
        detected = (
            detect_language(text) if text is not None and self.ranking.detect_language else None
        )
        return SearchResponse(
            hits=hits,
            index=self._info(index),
            search=details,
            query=QueryInfo(
                language=detected.language if detected else None,
                language_confidence=detected.confidence if detected else None,
                text_model=self.text_encoder.source if text is not None else None,
                lexical_weight=weight if fuse else 0.0,
                fusion="rrf" if fuse else "visual",
            ),
        )

    def _fused_hits(
        self,
        index: MotifIndex,
        lexical_index: LexicalIndex,
        text: str,
        vector: np.ndarray,
        ranked: list[tuple[int, float]],
        weight: float,
        top_k: int,
        dedupe: bool,
        motifs: list[int] | None,
        details: SearchDetails,
    ) -> list[Hit]:
        """Weighted RRF of the visual list (photos, or rows) and the lexical one (motifs)."""
        items = index.items

        def unit(row: int) -> tuple[int, int] | int:
            return (items[row].number, items[row].instance) if dedupe else row

        best: dict[tuple[int, int] | int, tuple[int, float]] = {}
        visual_ranks: dict[tuple[int, int] | int, int] = {}
        for rank, (row, score) in enumerate(ranked, start=1):
            visual_ranks[unit(row)] = rank
            best[unit(row)] = (row, score)
        lexical = lexical_index.rank(
            text,
            min_ratio=self.ranking.lexical_min_ratio,
            limit=LEXICAL_DEPTH,
            allowed=set(motifs) if motifs is not None else None,
        )
        # Photos of lexically matched motifs that are not in the visual list: their best rows and
        # true cosines, from an exact search restricted to that motif.
        per_motif = top_k * index.max_rows_per_photo if dedupe else top_k
        for number in lexical.numbers:
            rows = index.rows_of_motifs([number])
            if not len(rows):  # in the metadata, but no image of it was indexed
                continue
            found = index.search(
                vector,
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
            weight,
            k_lexical=self.ranking.k_lexical,
            k_visual=self.ranking.k_visual,
        )
        hits = []
        for entry in fused[:top_k]:
            row, score = best[entry.key]
            number = items[row].number
            hits.append(
                self._hit(
                    index,
                    row,
                    score,
                    fused_score=entry.score,
                    visual=ChannelScore(score=score, rank=entry.visual_rank),
                    lexical=ChannelScore(
                        score=lexical.score_of.get(number, 0.0), rank=entry.lexical_rank
                    ),
                )
            )
        return hits

    @staticmethod
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

    def image_file(self, item_id: int, size: int) -> tuple[Path | None, str]:
        """The stored image and the version of the index it belongs to (for ETags)."""
        index = self.index
        return index.image_file(item_id, size), index.version

    # -- the index in service ---------------------------------------------------------------

    def reload(self, index_dir: str) -> ReloadResponse:
        """Load `index_dir` beside the current index, check it, and swap; on failure keep the old."""
        if not self._reload_lock.acquire(blocking=False):
            raise BusyError(
                "another index reload is running; retry when it is done", retry_after_s=5
            )
        try:
            previous = self.index.version
            try:
                loaded = load_index(Path(index_dir), self._index_device)
                loaded.index.check_model(self.encoder.version, self.encoder.dim)
            except IndexNotFound as exc:
                raise NotFoundError(str(exc)) from None
            except InvalidIndex:
                raise  # an InvalidInputError that already says what is wrong: a 422
            except (OSError, RuntimeError, ValueError, KeyError, TypeError) as exc:
                # A damaged file FAISS or JSON cannot read: the old index keeps serving.
                raise InvalidInputError(
                    f"{index_dir} could not be loaded ({exc.__class__.__name__}: {exc})"
                ) from None
            self._loaded = loaded  # one reference assignment: searches see old or new, never a mix
            log.info("index swapped: %s -> %s (%s)", previous, loaded.index.version, index_dir)
            return ReloadResponse(previous_version=previous, index=self.status())
        finally:
            self._reload_lock.release()

    def _info(self, index: MotifIndex) -> IndexInfo:
        return IndexInfo(
            version=index.version, size=index.size, model=self.encoder.source, type=index.index_type
        )

    def info(self) -> IndexInfo:
        return self._info(self.index)

    def status(self) -> IndexStatus:
        loaded = self._loaded
        index = loaded.index
        return IndexStatus(
            version=index.version,
            type=index.index_type,
            size=index.size,
            dim=index.dim,
            motifs=len({item.number for item in index.items}),
            model=self.encoder.source,
            model_version=self.encoder.version,
            params=index.params,
            device=index.device,
            directory=str(index.root),
            created=str(index.manifest.get("created", "")),
            loaded_at=loaded.loaded_at,
            load_seconds=loaded.load_seconds,
        )

    def describe(self) -> dict:
        index = self.index
        versions = [self.encoder.version]
        if self.text_encoder is not self.encoder:
            versions.append(self.text_encoder.version)
        return {
            "model": self.encoder.source,
            # What answers depend on besides the index (the gateway keys its cache on it): the
            # CLIP version, the multilingual text tower's when there is one, and the ranking.
            "model_version": "+".join([*versions, self.ranking.version]),
            "clip_version": self.encoder.version,
            "text_model": self.text_encoder.source,
            "ranking": self.ranking.version,
            "index_version": index.version,
            "index_size": index.size,
            "index_type": index.index_type,
            "device": self.encoder.device,
        }

    async def aclose(self) -> None:
        self.text_batcher.close()
        self.image_batcher.close()
