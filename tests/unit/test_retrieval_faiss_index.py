"""Index types on small synthetic vectors: each builds, searches, filters and honours its knobs."""

import numpy as np
import pytest

from services.retrieval import faiss_index
from services.retrieval.faiss_index import SearchOptions


def _unit_rows(n: int, dim: int, seed: int) -> np.ndarray:
    # Clustered, like embeddings: 8 centres plus noise.
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((8, dim))
    x = centres[rng.integers(0, 8, n)] + 0.5 * rng.standard_normal((n, dim))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


VECTORS = _unit_rows(600, 32, seed=0)
QUERIES = _unit_rows(20, 32, seed=1)


def _brute_force(query: np.ndarray, k: int, rows: np.ndarray | None = None):
    candidates = np.arange(len(VECTORS)) if rows is None else rows
    scores = VECTORS[candidates] @ query
    order = np.argsort(-scores, kind="stable")[:k]
    return [int(candidates[i]) for i in order], scores[order]


@pytest.mark.parametrize("index_type", faiss_index.INDEX_TYPES)
def test_each_type_builds_and_finds_true_cosines(index_type):
    params = faiss_index.resolve_params(index_type, len(VECTORS), 32)
    index = faiss_index.build_index(VECTORS, index_type, params)
    assert index.ntotal == len(VECTORS)
    recalls = []
    for query in QUERIES:
        result = faiss_index.search(index, index_type, params, query, 10)
        assert len(result.rows) == 10
        assert result.scores == sorted(result.scores, reverse=True)
        # Every type scores its hits on the stored vectors: true cosines, not PQ estimates.
        np.testing.assert_allclose(result.scores, VECTORS[result.rows] @ query, atol=1e-5)
        truth, _ = _brute_force(query, 10)
        recalls.append(len(set(truth) & set(result.rows)) / 10)
    if index_type == "flat":
        assert min(recalls) == 1.0
    else:
        assert np.mean(recalls) >= 0.8, recalls


def test_a_stored_vector_finds_itself_first_in_every_type():
    for index_type in faiss_index.INDEX_TYPES:
        params = faiss_index.resolve_params(index_type, len(VECTORS), 32)
        index = faiss_index.build_index(VECTORS, index_type, params)
        result = faiss_index.search(index, index_type, params, VECTORS[123], 1)
        assert result.rows == [123], index_type


@pytest.mark.parametrize("index_type", faiss_index.INDEX_TYPES)
def test_filters_keep_only_allowed_rows_and_are_exact_when_small(index_type):
    params = faiss_index.resolve_params(index_type, len(VECTORS), 32)
    index = faiss_index.build_index(VECTORS, index_type, params)
    allowed = np.arange(0, len(VECTORS), 7, dtype=np.int64)
    for query in QUERIES[:5]:
        result = faiss_index.search(index, index_type, params, query, 10, allowed_rows=allowed)
        truth, scores = _brute_force(query, 10, allowed)
        assert result.exact
        assert result.rows == truth
        np.testing.assert_allclose(result.scores, scores, atol=1e-5)
    few = np.array([5, 9], dtype=np.int64)
    assert sorted(
        faiss_index.search(index, index_type, params, QUERIES[0], 10, allowed_rows=few).rows
    ) == [5, 9]
    empty = faiss_index.search(
        index, index_type, params, QUERIES[0], 10, allowed_rows=np.zeros(0, np.int64)
    )
    assert empty.rows == []


def test_large_filters_on_ann_indexes_use_the_index(monkeypatch):
    monkeypatch.setattr(faiss_index, "EXACT_FILTER_MAX_ROWS", 10)
    params = faiss_index.resolve_params("hnsw", len(VECTORS), 32)
    index = faiss_index.build_index(VECTORS, "hnsw", params)
    allowed = np.arange(0, 300, dtype=np.int64)
    result = faiss_index.search(index, "hnsw", params, QUERIES[0], 10, allowed_rows=allowed)
    assert not result.exact
    assert result.rows and all(r < 300 for r in result.rows)


def test_query_knobs_are_applied_and_reported():
    hnsw = faiss_index.resolve_params("hnsw", len(VECTORS), 32)
    index = faiss_index.build_index(VECTORS, "hnsw", hnsw)
    assert faiss_index.search(index, "hnsw", hnsw, QUERIES[0], 5).ef_search == hnsw["ef_search"]
    tuned = faiss_index.search(
        index, "hnsw", hnsw, QUERIES[0], 5, options=SearchOptions(ef_search=200)
    )
    assert tuned.ef_search == 200 and not tuned.exact
    # ef_search below k would return fewer than k hits: it is raised to k.
    small = faiss_index.search(
        index, "hnsw", hnsw, QUERIES[0], 40, options=SearchOptions(ef_search=4)
    )
    assert small.ef_search == 40 and len(small.rows) == 40

    ivf = faiss_index.resolve_params("ivfpq", len(VECTORS), 32)
    index = faiss_index.build_index(VECTORS, "ivfpq", ivf)
    assert faiss_index.search(index, "ivfpq", ivf, QUERIES[0], 5).nprobe == ivf["nprobe"]
    one = faiss_index.search(index, "ivfpq", ivf, QUERIES[0], 5, options=SearchOptions(nprobe=1))
    assert one.nprobe == 1
    capped = faiss_index.search(
        index, "ivfpq", ivf, QUERIES[0], 5, options=SearchOptions(nprobe=4096)
    )
    assert capped.nprobe == ivf["nlist"]
    # Visiting every list finds what brute force finds.
    assert capped.rows == _brute_force(QUERIES[0], 5)[0]


def test_defaults_fit_tiny_and_large_collections():
    tiny = faiss_index.resolve_params("ivfpq", 48, 16)
    assert tiny["nlist"] == 1 and 16 % tiny["m"] == 0 and 2 ** tiny["nbits"] <= 48
    large = faiss_index.resolve_params("ivfpq", 1_000_000, 512)
    assert large == {"nlist": 2000, "m": 64, "nbits": 8, "nprobe": 32, "k_factor": 8}
    assert faiss_index.resolve_params("hnsw", 10, 16, {"m": 8})["m"] == 8
    assert faiss_index.resolve_params("flat", 10, 16) == {}


@pytest.mark.parametrize(
    ("index_type", "params", "message"),
    [
        ("annoy", None, "unknown index type 'annoy'"),
        ("flat", {"nlist": 4}, "flat index does not take nlist"),
        ("hnsw", {"nprobe": 4}, "hnsw index does not take nprobe"),
        ("ivfpq", {"m": 5}, "must divide the embedding dimension 32"),
        ("hnsw", {"m": 0}, "positive integers"),
    ],
)
def test_bad_types_and_parameters_are_refused(index_type, params, message):
    with pytest.raises(ValueError, match=message):
        faiss_index.resolve_params(index_type, 600, 32, params)


def test_ivfpq_refuses_too_few_vectors_to_train():
    params = faiss_index.resolve_params("ivfpq", 600, 32, {"nbits": 10})
    with pytest.raises(ValueError, match="needs at least 1024 vectors"):
        faiss_index.build_index(VECTORS, "ivfpq", params)
