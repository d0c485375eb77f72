"""The index artifact: one directory holding the FAISS index, metadata, images and a manifest.

Layout::

    manifest.json   model source and version, embedding dim, count, index type and parameters,
                    checksums, created
    index.faiss     a FAISS index over L2-normalised CLIP vectors (inner product = cosine):
                    flat, hnsw or ivfpq (see faiss_index.py)
    items.jsonl     one row per vector: id, file, motif number, instance, rotation
    motifs.json     the motif metadata by number
    images/224/<id>.jpg, images/512/<id>.jpg
    report.json     what ingest indexed and what it skipped, with reasons

It is written to a temporary sibling and renamed into place, so a reader never sees half an index.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from services.common.contracts.retrieval import IMAGE_SIZES
from services.common.errors import InvalidInputError
from services.retrieval import faiss_index
from services.retrieval.faiss_index import SearchOptions, SearchResult

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
INDEX_FILE = "index.faiss"
ITEMS_FILE = "items.jsonl"
MOTIFS_FILE = "motifs.json"
REPORT_FILE = "report.json"
_CHECKSUMMED = (INDEX_FILE, ITEMS_FILE, MOTIFS_FILE)


class InvalidIndex(InvalidInputError):
    """An index directory that is missing, corrupt, or made for another model."""


class IndexNotFound(InvalidIndex):
    """No directory at the path given."""


@dataclass(frozen=True)
class IndexItem:
    id: int
    file: str
    number: int
    instance: int
    rotation: int


def image_path(root: Path, item_id: int, size: int) -> Path:
    return root / "images" / str(size) / f"{item_id}.jpg"


def built_with(root: Path) -> tuple[str, str | None]:
    """The model source and hub revision the index's manifest names: what `batik ingest` embedded
    it with. Reads only the manifest, so a caller can pick the matching model before loading
    anything."""
    path = Path(root) / MANIFEST
    if not path.is_file():
        raise InvalidIndex(f"{root} holds no {MANIFEST}: not an index made by `batik ingest`")
    try:
        model = json.loads(path.read_text(encoding="utf-8"))["model"]
        return str(model["source"]), model.get("revision")
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InvalidIndex(f"{path} names no model ({exc!r})") from None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class IndexWriter:
    """Collects an index in a temporary directory next to `out`, then renames it into place."""

    def __init__(self, out: Path) -> None:
        self.out = Path(out)
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self.staging = self.out.parent / f".{self.out.name}.tmp-{uuid.uuid4().hex[:8]}"
        for size in IMAGE_SIZES:
            (self.staging / "images" / str(size)).mkdir(parents=True)

    def image_path(self, item_id: int, size: int) -> Path:
        return image_path(self.staging, item_id, size)

    def commit(
        self,
        vectors: np.ndarray,
        items: list[IndexItem],
        motifs: dict[int, dict[str, Any]],
        model: dict[str, str],
        report: dict[str, Any],
        index_type: str = "flat",
        index_params: dict[str, int] | None = None,
    ) -> dict[str, Any]:
        import faiss

        if len(items) != len(vectors):
            raise ValueError(f"{len(items)} items but {len(vectors)} vectors")
        dim = int(vectors.shape[1]) if vectors.ndim == 2 else 0
        params = faiss_index.resolve_params(index_type, len(items), dim, index_params)
        index = faiss_index.build_index(vectors.reshape(len(items), dim), index_type, params)
        faiss.write_index(index, str(self.staging / INDEX_FILE))
        with (self.staging / ITEMS_FILE).open("w", encoding="utf-8") as handle:
            for item in items:
                handle.write(json.dumps(asdict(item), ensure_ascii=False) + "\n")
        (self.staging / MOTIFS_FILE).write_text(
            json.dumps(
                {str(k): v for k, v in sorted(motifs.items())}, ensure_ascii=False, indent=1
            ),
            encoding="utf-8",
        )
        checksums = {name: _sha256(self.staging / name) for name in _CHECKSUMMED}
        manifest = {
            "format": FORMAT_VERSION,
            "version": hashlib.sha256(
                json.dumps([checksums, model], sort_keys=True).encode()
            ).hexdigest()[:12],
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "model": model,
            "embedding_dim": dim,
            "count": len(items),
            "motifs": len({item.number for item in items}),
            "index_type": index_type,
            "index_params": params,
            "metric": "cosine (inner product over L2-normalised vectors)",
            "image_sizes": list(IMAGE_SIZES),
            "checksums": checksums,
        }
        (self.staging / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        (self.staging / REPORT_FILE).write_text(
            json.dumps({**report, "index_version": manifest["version"]}, indent=1),
            encoding="utf-8",
        )
        self._swap_into_place()
        return manifest

    def _swap_into_place(self) -> None:
        retired = None
        if self.out.exists():
            retired = self.out.parent / f".{self.out.name}.old-{uuid.uuid4().hex[:8]}"
            os.replace(self.out, retired)
        os.replace(self.staging, self.out)
        if retired is not None:
            shutil.rmtree(retired, ignore_errors=True)

    def abort(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)


class MotifIndex:
    """A loaded index directory: vectors in FAISS, rows and motif metadata in memory."""

    def __init__(self, root: Path, *, device: str = "cpu") -> None:
        import faiss

        self.root = Path(root)
        manifest_path = self.root / MANIFEST
        if not self.root.is_dir():
            raise IndexNotFound(f"{self.root} is not an index directory: it does not exist")
        if not manifest_path.is_file():
            raise InvalidIndex(
                f"{self.root} is not an index directory (no {MANIFEST}); build one with "
                f"`batik ingest --images DIR --metadata XLSX --out {self.root}`"
            )
        try:
            self.manifest: dict[str, Any] = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InvalidIndex(f"{manifest_path} is unreadable: {exc}") from None
        if self.manifest.get("format") != FORMAT_VERSION:
            raise InvalidIndex(
                f"{self.root}: unsupported index format {self.manifest.get('format')}"
            )
        for name, expected in self.manifest.get("checksums", {}).items():
            if not (self.root / name).is_file() or _sha256(self.root / name) != expected:
                raise InvalidIndex(f"{self.root}/{name} does not match its manifest checksum")
        self.index = faiss.read_index(str(self.root / INDEX_FILE))
        with (self.root / ITEMS_FILE).open(encoding="utf-8") as handle:
            self.items = [IndexItem(**json.loads(line)) for line in handle if line.strip()]
        raw = json.loads((self.root / MOTIFS_FILE).read_text(encoding="utf-8"))
        self.motifs: dict[int, dict[str, Any]] = {int(k): v for k, v in raw.items()}
        if self.index.ntotal != len(self.items):
            raise InvalidIndex(
                f"{self.root}: {self.index.ntotal} vectors but {len(self.items)} items"
            )
        if self.index_type not in faiss_index.INDEX_TYPES:
            raise InvalidIndex(f"{self.root}: unknown index type {self.index_type!r}")
        self.params: dict[str, int] = faiss_index.resolve_params(
            self.index_type, self.size, self.dim, self.manifest.get("index_params")
        )
        rows_by_motif: dict[int, list[int]] = {}
        photo_sizes: dict[tuple[int, int], int] = {}
        for item in self.items:
            rows_by_motif.setdefault(item.number, []).append(item.id)
            photo_sizes[(item.number, item.instance)] = (
                photo_sizes.get((item.number, item.instance), 0) + 1
            )
        self._rows_by_motif = {n: np.array(r, dtype=np.int64) for n, r in rows_by_motif.items()}
        # Rows per source photo (4 rotations in the dataset): how many candidates dedupe needs.
        self.max_rows_per_photo = max(photo_sizes.values(), default=1)
        self.gpu_index = faiss_index.to_gpu_if_available(self.index, self.index_type, device)

    @property
    def index_type(self) -> str:
        return str(self.manifest.get("index_type", "flat"))

    @property
    def device(self) -> str:
        return "cpu" if self.gpu_index is None else "cuda"

    @property
    def version(self) -> str:
        return str(self.manifest["version"])

    @property
    def size(self) -> int:
        return len(self.items)

    @property
    def dim(self) -> int:
        return int(self.manifest["embedding_dim"])

    def check_model(self, model_version: str, dim: int) -> None:
        """Refuse to serve vectors made by another model: their scores would be meaningless."""
        made_by = self.manifest["model"]
        if made_by.get("version") != model_version or self.dim != dim:
            raise InvalidIndex(
                f"index {self.root} was built with {made_by.get('source')} "
                f"({made_by.get('version')}, dim {self.dim}) but the service runs "
                f"{model_version} (dim {dim}); re-run `batik ingest` with the service's model"
            )

    def rows_of_motifs(self, numbers: list[int]) -> np.ndarray:
        """Row ids of every image of these motifs (sorted)."""
        unknown = sorted(set(numbers) - set(self.motifs))
        if unknown:
            raise ValueError(f"motifs {unknown} are not in this index's metadata")
        found = [self._rows_by_motif[n] for n in set(numbers) if n in self._rows_by_motif]
        return np.sort(np.concatenate(found)) if found else np.zeros(0, dtype=np.int64)

    def search(
        self,
        query: np.ndarray,
        k: int,
        *,
        allowed_rows: np.ndarray | None = None,
        options: SearchOptions = SearchOptions(),
    ) -> SearchResult:
        """The `k` nearest rows with their cosines, best first."""
        return faiss_index.search(
            self.index,
            self.index_type,
            self.params,
            query,
            min(k, self.size),
            allowed_rows=allowed_rows,
            options=options,
            gpu_index=self.gpu_index,
        )

    def image_file(self, item_id: int, size: int) -> Path | None:
        if not 0 <= item_id < self.size or size not in IMAGE_SIZES:
            return None
        return image_path(self.root, item_id, size)
