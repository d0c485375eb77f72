"""The nearest-design scan: faiss's exact inner products, in one thread or in slices at once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from services.library.nearest import EmbeddingCache, inner_products, normalise

DIM = 64


def _rows(n: int, seed: int = 0) -> np.ndarray:
    rows = np.random.default_rng(seed).standard_normal((n, DIM)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


@pytest.mark.parametrize("n", [20_011, 64_000, 300])  # two past the threshold, one under it
@pytest.mark.parametrize("parts", [2, 3])
def test_a_scan_in_slices_gives_every_score_the_one_thread_scan_gives(n, parts):
    rows, query = _rows(n), _rows(1, seed=1)[0]
    alone = inner_products(rows, query)
    with ThreadPoolExecutor(parts - 1) as helpers:
        sliced = inner_products(rows, query, helpers, parts)
    assert sliced.shape == (n,)
    np.testing.assert_array_equal(sliced, alone)  # the same kernel on every row: bit for bit
    np.testing.assert_allclose(alone, rows.astype(np.float64) @ query, atol=1e-5)


def test_a_query_of_another_size_is_refused():
    with pytest.raises(ValueError, match="query of 8"):
        inner_products(_rows(10), np.ones(8, np.float32))


class _Embeddings:
    """An owner's embeddings as the database would give them (EmbeddingSource)."""

    def __init__(self, rows: np.ndarray) -> None:
        self.records = [(f"d_{i:020x}", row.tobytes(), DIM) for i, row in enumerate(rows)]

    def all(self):
        return iter(self.records)

    def ids(self) -> set[str]:
        return {design_id for design_id, _, _ in self.records}

    def some(self, ids: set[str]):
        return (record for record in self.records if record[0] in ids)


def test_a_cache_searching_with_threads_ranks_as_one_thread_does():
    rows = _rows(30_000)
    source = _Embeddings(rows)
    one, two = EmbeddingCache(), EmbeddingCache(search_threads=2)
    try:
        for seed in range(5):
            query = normalise(_rows(1, seed=10 + seed)[0])
            hits = two.search("alice", 1, source, query, 10)
            assert hits == one.search("alice", 1, source, query, 10)
            best = np.argsort(-(rows @ query), kind="stable")[:10]
            assert [design_id for design_id, _ in hits] == [f"d_{i:020x}" for i in best]
    finally:
        two.close()
