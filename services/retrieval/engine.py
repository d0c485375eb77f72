"""The retrieval engine: a query encoder, the index in service and a searcher over both.

- `QueryEncoder` (query_encoder.py): texts and images to CLIP vectors, micro-batched.
- `ServedIndex` (served_index.py): the index this replica serves; load, hot reload, status.
- `Searcher` (searcher.py): nearest motifs, fused with the lexical channel for text queries.

`RetrievalEngine` builds the three from settings and holds them; the routes call the part they need
(`engine.searcher.search`, `engine.encoder.embed`, `engine.served.reload`, ...).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from services.common.contracts.retrieval import IndexStatus
from services.retrieval.index import MotifIndex
from services.retrieval.language import detect_language
from services.retrieval.query_encoder import QueryEncoder
from services.retrieval.searcher import Ranking, Searcher
from services.retrieval.served_index import ModelIdentity, ServedIndex, load_index


class RetrievalEngine:
    def __init__(self, encoder: QueryEncoder, served: ServedIndex, ranking: Ranking) -> None:
        self.encoder = encoder
        self.served = served
        self.searcher = Searcher(encoder, served, ranking)

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
        model_revision: str | None = None,
        text_model_revision: str | None = None,
        index_root: str | None = None,
    ) -> RetrievalEngine:
        # The index is read first: a missing index fails in milliseconds, not after a model load.
        loaded = load_index(Path(index_dir), device)
        encoder = QueryEncoder.load(
            model,
            device=device,
            dtype=dtype,
            batch_size=batch_size,
            batch_wait_ms=batch_wait_ms,
            text_model=text_model,
            model_revision=model_revision,
            text_model_revision=text_model_revision,
        )
        clip = encoder.clip
        model_identity = ModelIdentity(clip.source, clip.version, clip.dim)
        served = ServedIndex(
            loaded,
            model_identity,
            device=device,
            root=Path(index_root) if index_root else None,
        )
        ranking = ranking or Ranking()
        if ranking.detect_language:
            detect_language("warm up")  # lingua loads its models on first use: not in a request
        return cls(encoder, served, ranking)

    @property
    def index(self) -> MotifIndex:
        return self.served.current.index

    @property
    def ranking(self) -> Ranking:
        return self.searcher.ranking

    def describe(self) -> dict[str, Any]:
        """What /readyz says: the index's status plus what answers depend on besides the index."""
        status: IndexStatus = self.served.status()
        return {
            "model": status.model,
            # The gateway keys its cache on it: the CLIP version, the multilingual text tower's
            # when there is one, and the ranking.
            "model_version": "+".join([*self.encoder.versions, self.ranking.version]),
            "clip_version": status.model_version,
            "text_model": self.encoder.text_encoder.source,
            "ranking": self.ranking.version,
            "index_version": status.version,
            "index_size": status.size,
            "index_type": status.type,
            "device": self.encoder.clip.device,
        }

    def close(self) -> None:
        self.encoder.close()

    async def aclose(self) -> None:
        self.close()
