"""FAISS index types over L2-normalised vectors (inner product = cosine): build, search, GPU move.

- `flat`: exact, brute force. The default for small collections.
- `hnsw`: graph search over the full vectors (`IndexHNSWFlat`); scores are exact cosines of the hits
  it finds. `ef_search` trades recall for speed per query.
- `ivfpq`: inverted lists with product-quantised codes find candidates, which are then reranked on the
  stored vectors (`IndexRefineFlat`), so scores stay true cosines. `nprobe` trades recall for speed.

Build parameters are filled with defaults that fit the collection size and recorded in the manifest.
Nothing here knows about motifs or HTTP.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

INDEX_TYPES = ("flat", "hnsw", "ivfpq")

# Build and query-time parameters each type accepts, with what they mean (shown in `batik ingest`).
PARAMETERS: dict[str, dict[str, str]] = {
    "flat": {},
    "hnsw": {
        "m": "graph neighbours per node (memory and recall grow with it)",
        "ef_construction": "candidate list size while building",
        "ef_search": "default candidate list size per query",
    },
    "ivfpq": {
        "nlist": "inverted lists (coarse clusters)",
        "m": "PQ sub-quantisers; must divide the dimension",
        "nbits": "bits per PQ code",
        "nprobe": "default lists visited per query",
        "k_factor": "candidates reranked on the exact vectors, per hit asked",
    },
}

# Filters that keep at most this many rows are answered exactly from the stored vectors: an ANN graph
# or list scan would visit mostly rows the filter throws away, and miss the ones it keeps.
EXACT_FILTER_MAX_ROWS = 50_000


@dataclass(frozen=True)
class SearchOptions:
    """Per-query knobs; None means the index's recorded default."""

    nprobe: int | None = None
    ef_search: int | None = None


@dataclass(frozen=True)
class SearchResult:
    rows: list[int]
    scores: list[float]
    exact: bool
    nprobe: int | None = None
    ef_search: int | None = None


def default_params(index_type: str, count: int, dim: int) -> dict[str, int]:
    """Defaults sized to the collection: they must also work on a few dozen vectors (tests, demos)."""
    if index_type == "flat":
        return {}
    if index_type == "hnsw":
        # ef_search 128: recall@10 0.97 on 1M synthetic CLIP-like vectors (64 gave 0.90), p50 0.5 ms.
        return {"m": 32, "ef_construction": 80, "ef_search": 128}
    if index_type == "ivfpq":
        # About 2 sqrt(n) lists (FAISS advises 1 to 16 sqrt(n)), with at least 39 points per list.
        nlist = max(1, min(int(2 * math.sqrt(max(count, 1))), count // 39))
        # Sub-vectors of 8 dimensions; a PQ codebook needs at least 2**nbits training points.
        m = _largest_divisor_at_most(dim, max(1, dim // 8))
        nbits = max(1, min(8, int(math.log2(max(count, 2)))))
        return {"nlist": nlist, "m": m, "nbits": nbits, "nprobe": min(nlist, 32), "k_factor": 8}
    raise ValueError(f"unknown index type {index_type!r}; choose one of {', '.join(INDEX_TYPES)}")


def _largest_divisor_at_most(n: int, limit: int) -> int:
    return max(d for d in range(1, max(limit, 1) + 1) if n % d == 0)


def check_params(index_type: str, given: dict[str, int] | None) -> None:
    """Refuse an unknown type or parameter name (before an ingest spends time embedding)."""
    if index_type not in INDEX_TYPES:
        raise ValueError(
            f"unknown index type {index_type!r}; choose one of {', '.join(INDEX_TYPES)}"
        )
    unknown = set(given or {}) - set(PARAMETERS[index_type])
    if unknown:
        allowed = ", ".join(PARAMETERS[index_type]) or "none"
        raise ValueError(
            f"{index_type} index does not take {', '.join(sorted(unknown))} (it takes: {allowed})"
        )


def resolve_params(
    index_type: str, count: int, dim: int, given: dict[str, int] | None = None
) -> dict[str, int]:
    check_params(index_type, given)
    params = default_params(index_type, count, dim)
    params.update({k: int(v) for k, v in (given or {}).items()})
    if any(v < 1 for v in params.values()):
        raise ValueError(f"index parameters must be positive integers, got {params}")
    if index_type == "ivfpq" and dim % params["m"]:
        raise ValueError(f"ivfpq m={params['m']} must divide the embedding dimension {dim}")
    return params


def build_index(vectors: np.ndarray, index_type: str, params: dict[str, int]) -> Any:
    """A trained FAISS index holding `vectors` (rows are ids 0..n-1)."""
    import faiss

    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    dim = int(vectors.shape[1])
    if index_type == "flat":
        index = faiss.IndexFlatIP(dim)
    elif index_type == "hnsw":
        index = faiss.IndexHNSWFlat(dim, params["m"], faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = params["ef_construction"]
        index.hnsw.efSearch = params["ef_search"]
    elif index_type == "ivfpq":
        if len(vectors) < 2 ** params["nbits"] or len(vectors) < params["nlist"]:
            raise ValueError(
                f"ivfpq with nlist={params['nlist']} and nbits={params['nbits']} needs at least "
                f"{max(2 ** params['nbits'], params['nlist'])} vectors; got {len(vectors)}"
            )
        quantizer = faiss.IndexFlatIP(dim)
        ivfpq = faiss.IndexIVFPQ(
            quantizer,
            dim,
            params["nlist"],
            params["m"],
            params["nbits"],
            faiss.METRIC_INNER_PRODUCT,
        )
        ivfpq.nprobe = params["nprobe"]
        index = faiss.IndexRefineFlat(ivfpq)
        index.k_factor = params["k_factor"]
        # k-means on every vector of a large collection costs minutes and gains nothing: FAISS
        # itself advises 39 to 256 points per centroid.
        sample = min(len(vectors), max(64 * params["nlist"], 10_000))
        rows = np.random.default_rng(0).choice(len(vectors), sample, replace=False)
        index.train(vectors[np.sort(rows)])
    else:
        raise ValueError(
            f"unknown index type {index_type!r}; choose one of {', '.join(INDEX_TYPES)}"
        )
    if len(vectors):
        index.add(vectors)
    return index


def exact_storage(index: Any) -> Any:
    """The flat store of full vectors inside any of our index types."""
    import faiss

    if isinstance(index, faiss.IndexHNSWFlat):
        return faiss.downcast_index(index.storage)
    if isinstance(index, faiss.IndexRefine):
        return faiss.downcast_index(index.refine_index)
    return index


def to_gpu_if_available(index: Any, index_type: str, device: str) -> Any | None:
    """A GPU copy of a flat index when faiss was built with GPU support and a GPU is present."""
    import faiss

    if index_type != "flat" or device == "cpu" or not hasattr(faiss, "StandardGpuResources"):
        return None
    if faiss.get_num_gpus() < 1:
        return None
    resources = faiss.StandardGpuResources()
    gpu_index = faiss.index_cpu_to_gpu(resources, 0, index)
    gpu_index.batik_resources = resources  # keep the GPU memory pool alive as long as the index
    return gpu_index


def search(
    index: Any,
    index_type: str,
    params: dict[str, int],
    query: np.ndarray,
    k: int,
    *,
    allowed_rows: np.ndarray | None = None,
    options: SearchOptions = SearchOptions(),
    gpu_index: Any | None = None,
) -> SearchResult:
    """The `k` best rows for one query, best first; `allowed_rows` restricts the search to them."""
    import faiss

    query = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
    selector = None
    if allowed_rows is not None:
        if len(allowed_rows) == 0:
            return SearchResult([], [], exact=True)
        selector = faiss.IDSelectorBatch(np.ascontiguousarray(allowed_rows, dtype=np.int64))
        k = min(k, len(allowed_rows))
    if k <= 0:
        return SearchResult([], [], exact=True)

    nprobe = ef_search = None
    exact = index_type == "flat" or (
        selector is not None and len(allowed_rows) <= EXACT_FILTER_MAX_ROWS
    )
    if exact:
        target = exact_storage(index)
        if selector is None and gpu_index is not None:
            target = gpu_index  # GPU flat indexes take no ID selector: filtered queries stay on CPU
        search_params = faiss.SearchParameters(sel=selector) if selector is not None else None
    elif index_type == "hnsw":
        # The candidate list must hold at least k entries, or HNSW returns fewer than k hits.
        ef_search = max(options.ef_search or params["ef_search"], k)
        target = index
        search_params = faiss.SearchParametersHNSW(efSearch=ef_search, sel=selector)
    else:  # ivfpq
        nprobe = min(options.nprobe or params["nprobe"], params["nlist"])
        target = index
        ivf_params = faiss.SearchParametersIVF(nprobe=nprobe, sel=selector)
        search_params = faiss.IndexRefineSearchParameters(
            k_factor=float(params["k_factor"]), base_index_params=ivf_params
        )
    scores, ids = target.search(query, k, params=search_params)
    keep = ids[0] >= 0
    return SearchResult(
        rows=[int(i) for i in ids[0][keep]],
        scores=[float(s) for s in scores[0][keep]],
        exact=exact,
        nprobe=nprobe,
        ef_search=ef_search,
    )
