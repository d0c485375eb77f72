"""Search: query text and/or image -> CLIP vector -> FAISS neighbours with their motif metadata.

The engine holds one loaded index at a time. A reload builds the new one beside it and swaps the
reference; every search reads the reference once, so it finishes on the index it started with.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from PIL import Image

from services.common.contracts.retrieval import (
    EmbedResponse,
    Hit,
    IndexInfo,
    IndexStatus,
    Motif,
    ReloadResponse,
    SearchDetails,
    SearchResponse,
)
from services.common.errors import ErrorType, ServiceError
from services.retrieval.batching import MicroBatcher
from services.retrieval.dedupe import best_per_source_photo
from services.retrieval.encoder import ClipEncoder
from services.retrieval.faiss_index import SearchOptions
from services.retrieval.index import IndexError_, IndexNotFound, MotifIndex

log = logging.getLogger(__name__)

# Cap on neighbours fetched so that dedupe still finds `top_k` distinct photos.
_MAX_CANDIDATES = 10_000


@dataclass(frozen=True)
class LoadedIndex:
    index: MotifIndex
    loaded_at: str
    load_seconds: float


def load_index(directory: Path, device: str) -> LoadedIndex:
    started = time.perf_counter()
    index = MotifIndex(directory, device=device)
    return LoadedIndex(
        index=index,
        loaded_at=datetime.now(UTC).isoformat(timespec="seconds"),
        load_seconds=round(time.perf_counter() - started, 3),
    )


class RetrievalEngine:
    def __init__(
        self,
        encoder: ClipEncoder,
        loaded: LoadedIndex,
        *,
        batch_wait_ms: float = 2.0,
        index_device: str = "cpu",
    ) -> None:
        loaded.index.check_model(encoder.version, encoder.dim)
        self.encoder = encoder
        self._loaded = loaded
        self._index_device = index_device
        self._reload_lock = threading.Lock()
        self.text_batcher: MicroBatcher[str] = MicroBatcher(
            encoder.embed_texts,
            max_batch=encoder.batch_size,
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
    ) -> RetrievalEngine:
        # The index is read first: a missing index fails in milliseconds, not after a model load.
        loaded = load_index(Path(index_dir), device)
        encoder = ClipEncoder(model, device=device, dtype=dtype, batch_size=batch_size)
        return cls(encoder, loaded, batch_wait_ms=batch_wait_ms, index_device=device)

    @property
    def index(self) -> MotifIndex:
        return self._loaded.index

    # -- embeddings -------------------------------------------------------------------------

    def embed_texts(self, texts: list[str]) -> np.ndarray:
        return self.text_batcher.embed(texts).reshape(len(texts), self.encoder.dim)

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
    ) -> SearchResponse:
        loaded = self._loaded  # one index for the whole call, whatever a reload does meanwhile
        index = loaded.index
        allowed = index.rows_of_motifs(motifs) if motifs is not None else None
        vector = self.query_vector(text, image, text_weight)
        # Each photo has at most `max_rows_per_photo` rows, so this many neighbours always hold
        # `top_k` distinct photos when the index has them.
        wanted = top_k * index.max_rows_per_photo if dedupe else top_k
        result = index.search(
            vector,
            min(wanted, _MAX_CANDIDATES),
            allowed_rows=allowed,
            options=SearchOptions(nprobe=nprobe, ef_search=ef_search),
        )
        ranked = list(zip(result.rows, result.scores, strict=True))
        if dedupe:
            ranked = best_per_source_photo(ranked, index.items, top_k)
        hits = []
        for row, score in ranked[:top_k]:
            item = index.items[row]
            hits.append(
                Hit(
                    id=item.id,
                    score=score,
                    motif=Motif(**index.motifs[item.number]),
                    file=item.file,
                    instance=item.instance,
                    rotation=item.rotation,
                )
            )
        return SearchResponse(
            hits=hits,
            index=self._info(index),
            search=SearchDetails(
                exact=result.exact,
                candidates=len(result.rows),
                deduped=dedupe,
                nprobe=result.nprobe,
                ef_search=result.ef_search,
            ),
        )

    def image_file(self, item_id: int, size: int) -> tuple[Path | None, str]:
        """The stored image and the version of the index it belongs to (for ETags)."""
        index = self.index
        return index.image_file(item_id, size), index.version

    # -- the index in service ---------------------------------------------------------------

    def reload(self, index_dir: str) -> ReloadResponse:
        """Load `index_dir` beside the current index, check it, and swap; on failure keep the old."""
        if not self._reload_lock.acquire(blocking=False):
            raise ServiceError(
                ErrorType.OVERLOADED,
                "another index reload is running; retry when it is done",
                headers={"Retry-After": "5"},
            )
        try:
            previous = self.index.version
            try:
                loaded = load_index(Path(index_dir), self._index_device)
                loaded.index.check_model(self.encoder.version, self.encoder.dim)
            except IndexNotFound as exc:
                raise ServiceError(ErrorType.NOT_FOUND, str(exc)) from None
            except IndexError_ as exc:
                raise ServiceError(ErrorType.VALIDATION, str(exc)) from None
            except (OSError, RuntimeError, ValueError, KeyError, TypeError) as exc:
                # A damaged file FAISS or JSON cannot read: the old index keeps serving.
                raise ServiceError(
                    ErrorType.VALIDATION,
                    f"{index_dir} could not be loaded ({exc.__class__.__name__}: {exc})",
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
        return {
            "model": self.encoder.source,
            "model_version": self.encoder.version,
            "index_version": index.version,
            "index_size": index.size,
            "index_type": index.index_type,
            "device": self.encoder.device,
        }

    async def aclose(self) -> None:
        self.text_batcher.close()
        self.image_batcher.close()
