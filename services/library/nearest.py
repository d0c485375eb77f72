"""Nearest designs by cosine: one float32 matrix per owner (and one for admins, over everyone), kept in
memory and checked against the owner's revision in the database on every search.

A search reads one integer (the revision); when it matches, the search is one matrix-vector product.
Writes made by this process patch the matrix in place (append, swap-remove) when they are the only
change since it was built. After any other change (another replica's write) the next search reads the
owner's design ids, drops the ones gone and loads only the embeddings it lacks (embeddings never change
once saved); a large change rebuilds the matrix from scratch. Rows with a different embedding size than the query (another model) are not compared.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

import faiss
import numpy as np

ALL_OWNERS = "*"  # the cache key of an admin's search over every owner


# Below this many rows a second thread costs more than the share of the scan it takes.
_PARALLEL_MIN_ROWS = 20_000


def inner_products(
    rows: np.ndarray, query: np.ndarray, helpers: Executor | None = None, parts: int = 1
) -> np.ndarray:
    """`rows @ query`, exactly, through faiss's SIMD kernel: this matrix-vector product is bound by
    memory bandwidth, and faiss reads the rows about twice as fast as numpy's BLAS gemv here
    (`python -m benchmarks.library` times both; docs/BENCHMARKS.md). With `helpers`, the rows are
    scanned in `parts` slices at once (faiss lets go of the GIL): one core alone does not use all
    of the memory's bandwidth."""
    if rows.ndim != 2 or rows.shape[1] != len(query):  # faiss would read past the rows
        raise ValueError(f"rows of {rows.shape[1:]} against a query of {len(query)}")
    rows = np.ascontiguousarray(rows, dtype=np.float32)
    query = np.ascontiguousarray(query, dtype=np.float32)
    scores = np.empty(len(rows), dtype=np.float32)
    if helpers is None or parts < 2 or len(rows) < _PARALLEL_MIN_ROWS:
        _scan(rows, query, scores)
        return scores
    bounds = np.linspace(0, len(rows), parts + 1, dtype=int)
    slices = [slice(int(a), int(b)) for a, b in itertools.pairwise(bounds)]
    # This thread scans the first slice itself while the helpers scan the others.
    others = [helpers.submit(_scan, rows[part], query, scores[part]) for part in slices[1:]]
    try:
        _scan(rows[slices[0]], query, scores[slices[0]])
    finally:  # never leave a helper writing into `scores` after the caller has gone on
        for other in others:
            other.result()
    return scores


def _scan(rows: np.ndarray, query: np.ndarray, scores: np.ndarray) -> None:
    if len(rows):
        faiss.fvec_inner_products_ny(
            faiss.swig_ptr(scores),
            faiss.swig_ptr(query),
            faiss.swig_ptr(rows),
            len(query),
            len(rows),
        )


def normalise(vector: Iterable[float]) -> np.ndarray:
    """The unit vector (float32) in `vector`'s direction; all zeros stay zeros, a NaN or infinity
    stays one. Scaled by its largest magnitude in float64 first: any finite vector JSON can carry
    keeps its direction (1e39 is past float32, [1e-46] would round to zeros, [1e200, 1e200] would
    overflow the norm even in float64)."""
    array = np.asarray(list(vector), dtype=np.float64)
    largest = float(np.max(np.abs(array))) if array.size else 0.0
    if largest > 0 and np.isfinite(largest):
        array = array / largest
        array /= np.linalg.norm(array)
    return array.astype(np.float32)


Row = tuple[str, bytes, int]  # design id, float32 bytes, embedding size


class EmbeddingSource(Protocol):
    """The database side of one owner's (or every owner's) embeddings."""

    def all(self) -> Iterable[Row]: ...

    def ids(self) -> set[str]:
        """Ids of the designs that have an embedding."""
        ...

    def some(self, ids: set[str]) -> Iterable[Row]: ...


@dataclass
class _Matrix:
    """Rows of one embedding size, with spare capacity so appends are amortised O(1)."""

    dim: int
    ids: list[str] = field(default_factory=list)
    data: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))

    def __post_init__(self) -> None:
        if self.data.shape[1:] != (self.dim,):
            self.data = np.zeros((16, self.dim), np.float32)

    def append(self, design_id: str, vector: np.ndarray) -> None:
        n = len(self.ids)
        if n == len(self.data):
            grown = np.zeros((max(16, 2 * n), self.dim), np.float32)
            grown[:n] = self.data[:n]
            self.data = grown
        self.data[n] = vector
        self.ids.append(design_id)

    def remove(self, design_id: str) -> bool:
        try:
            index = self.ids.index(design_id)  # O(n); many removals at once rebuild instead
        except ValueError:
            return False
        last = len(self.ids) - 1
        self.data[index] = self.data[last]
        self.ids[index] = self.ids[last]
        self.ids.pop()
        return True


def _build(rows: Iterable[Row]) -> dict[int, _Matrix]:
    """One matrix per embedding size, each filled with a single copy of the joined blobs."""
    ids: dict[int, list[str]] = {}
    blobs: dict[int, list[bytes]] = {}
    for design_id, blob, dim in rows:
        ids.setdefault(dim, []).append(design_id)
        blobs.setdefault(dim, []).append(blob)
    matrices = {}
    for dim, names in ids.items():
        n = len(names)
        # Room for an eighth more: the appends that follow do not copy the whole matrix at once.
        data = np.empty((n + max(16, n // 8), dim), dtype=np.float32)
        data[:n] = np.frombuffer(b"".join(blobs[dim]), dtype=np.float32).reshape(n, dim)
        matrices[dim] = _Matrix(dim, names, data)
    return matrices


@dataclass
class _Entry:
    revision: int
    matrices: dict[int, _Matrix]


class EmbeddingCache:
    def __init__(self, search_threads: int = 1) -> None:
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()
        self._parts = search_threads
        self._helpers = ThreadPoolExecutor(search_threads - 1) if search_threads > 1 else None
        self.rebuilds = 0  # matrices built from every row (first search, or a large change)
        self.refreshes = 0  # stale matrices brought up to date by the difference of ids

    def close(self) -> None:
        if self._helpers is not None:
            self._helpers.shutdown()

    def search(
        self,
        key: str,
        revision: int,
        source: EmbeddingSource,
        query: np.ndarray,
        limit: int,
        exclude: str | None = None,
    ) -> list[tuple[str, float]]:
        """(design id, cosine) best first, over the embeddings as of `revision`."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                entry = self._entries[key] = _Entry(revision, _build(source.all()))
                self.rebuilds += 1
            elif entry.revision != revision:
                self._refresh(key, entry, source)
                entry = self._entries[key]
                entry.revision = revision
            matrix = entry.matrices.get(len(query))
            if matrix is None or not matrix.ids:
                return []
            n = len(matrix.ids)
            scores = inner_products(matrix.data[:n], query, self._helpers, self._parts)
            want = min(n, limit + (exclude is not None))
            top = np.argpartition(-scores, want - 1)[:want] if want < n else np.arange(n)
            ranked = top[np.argsort(-scores[top], kind="stable")]
            hits = [(matrix.ids[i], float(scores[i])) for i in ranked]
        return [hit for hit in hits if hit[0] != exclude][:limit]

    def _refresh(self, key: str, entry: _Entry, source: EmbeddingSource) -> None:
        """Bring a stale matrix up to date by the difference of ids (caller holds the lock)."""
        current = source.ids()
        cached = {design_id for m in entry.matrices.values() for design_id in m.ids}
        new, gone = current - cached, cached - current
        if len(new) + len(gone) > max(256, len(current) // 4):
            self._entries[key] = _Entry(entry.revision, _build(source.all()))
            self.rebuilds += 1
            return
        for design_id in gone:
            for matrix in entry.matrices.values():
                matrix.remove(design_id)
        for design_id, blob, dim in source.some(new) if new else ():
            matrix = entry.matrices.setdefault(dim, _Matrix(dim))
            matrix.append(design_id, np.frombuffer(blob, dtype=np.float32))
        self.refreshes += 1

    def added(
        self, key: str, revision_before: int, design_id: str, vector: np.ndarray | None
    ) -> None:
        """This process added a design: patch the cached matrix if it was current just before."""

        def append(entry: _Entry) -> None:
            if vector is not None:
                matrix = entry.matrices.setdefault(len(vector), _Matrix(len(vector)))
                matrix.append(design_id, vector)

        self._patch(key, revision_before, append)

    def removed(self, key: str, revision_before: int, design_id: str) -> None:
        def remove(entry: _Entry) -> None:
            for matrix in entry.matrices.values():
                matrix.remove(design_id)

        self._patch(key, revision_before, remove)

    def _patch(self, key: str, revision_before: int, change: Callable[[_Entry], None]) -> None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return
            if entry.revision == revision_before:
                change(entry)
                entry.revision += 1
            # else someone else wrote too: the next search refreshes the matrix by ids

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
