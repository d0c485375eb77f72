"""The index a replica serves: loaded once at startup, swapped by a reload without a restart.

A reload builds the new index beside the current one and swaps the reference; every search reads the
reference once (`current`), so it finishes on the index it started with. It loads only directories
under the index root (`RETRIEVAL_INDEX_ROOT`), and answers a path outside it exactly as a missing
one: the admin route must not tell what exists elsewhere on the file system (issue 16, finding 10).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from services.common.contracts.retrieval import IndexInfo, IndexStatus, ReloadResponse
from services.common.errors import BusyError, InvalidInputError, NotFoundError
from services.retrieval.index import IndexNotFound, InvalidIndex, MotifIndex
from services.retrieval.lexical import LexicalIndex

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelIdentity:
    """The CLIP model an index must have been built by."""

    source: str
    version: str
    dim: int


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


def under_root(root: Path, index_dir: str) -> Path:
    """`index_dir` (relative ones are under `root`) with its links resolved, if it lies under `root`.

    NotFoundError otherwise, and the same one for a missing directory: nothing outside the root is
    looked at beyond resolving the path, and the answer never says whether it exists.
    """
    resolved = (root / index_dir).resolve()
    if resolved.is_relative_to(root.resolve()) and resolved.is_dir():
        return resolved
    raise NotFoundError(f"{index_dir} is not an index directory under the index root")


class ServedIndex:
    def __init__(
        self,
        loaded: LoadedIndex,
        model: ModelIdentity,
        *,
        device: str = "cpu",
        root: Path | None = None,
    ) -> None:
        loaded.index.check_model(model.version, model.dim)
        self.model = model
        # What reload may load: directories under it. Default: the one holding the served index.
        self.root = root if root is not None else Path(loaded.index.root).absolute().parent
        self._loaded = loaded
        self._device = device
        self._reload_lock = threading.Lock()

    @property
    def current(self) -> LoadedIndex:
        return self._loaded

    def reload(self, index_dir: str) -> ReloadResponse:
        """Load `index_dir` beside the current index, check it, and swap; on failure keep the old."""
        if not self._reload_lock.acquire(blocking=False):
            raise BusyError(
                "another index reload is running; retry when it is done", retry_after_s=5
            )
        try:
            previous = self._loaded.index.version
            directory = under_root(self.root, index_dir)
            try:
                loaded = load_index(directory, self._device)
                loaded.index.check_model(self.model.version, self.model.dim)
            except IndexNotFound:  # gone since under_root looked: the same answer
                raise NotFoundError(
                    f"{index_dir} is not an index directory under the index root"
                ) from None
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

    def status(self) -> IndexStatus:
        """Everything about the index in service; the search's `IndexInfo` and /readyz read it."""
        loaded = self._loaded
        index = loaded.index
        return IndexStatus(
            version=index.version,
            type=index.index_type,
            size=index.size,
            dim=index.dim,
            motifs=len({item.number for item in index.items}),
            model=self.model.source,
            model_version=self.model.version,
            params=index.params,
            device=index.device,
            directory=str(index.root),
            created=str(index.manifest.get("created", "")),
            loaded_at=loaded.loaded_at,
            load_seconds=loaded.load_seconds,
        )

    def info(self, index: MotifIndex) -> IndexInfo:
        """The short form a search answer carries, for the index that search ran on."""
        return IndexInfo(
            version=index.version, size=index.size, model=self.model.source, type=index.index_type
        )

    def image_file(self, item_id: int, size: int) -> tuple[Path | None, str]:
        """The stored image and the version of the index it belongs to (for ETags)."""
        index = self._loaded.index
        return index.image_file(item_id, size), index.version
