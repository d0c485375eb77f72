"""Retrieval at scale: index types on synthetic CLIP-like vectors, and micro-batching throughput.

    python -m benchmarks.retrieval                       # 100k and 1M vectors, d=512, then batching
    python -m benchmarks.retrieval --sizes 100000 --skip-batching

Part 1, per collection size and index type (flat, hnsw, ivfpq, built by the same code `batik ingest`
uses, with its default parameters): build time, p50/p99 single-query latency, recall@10 against the
flat index, and the index's size in memory (its serialised size). Then ratios: flat p50 / ANN p50.

The vectors: real CLIP embeddings are not uniform on the sphere. They sit in a cone around a common
direction, form clusters (motifs, styles), and their spread inside a cluster is concentrated in a few
dozen directions. So each vector is `normalise(0.5 * shared + centre[c] + 0.6 * noise)`: `shared` one
unit vector, `centre[c]` one of 1000 random unit cluster centres, and `noise` Gaussian with a
power-law spectrum (std along the i-th of 512 randomly rotated axes proportional to i ** -0.8, total
variance 1). Queries are fresh draws from the same distribution, not stored vectors. At 100k vectors
a query's 1st neighbour scores about 0.94 and its 10th about 0.90 (printed per run): the top 10 is a
fine ranking among many close vectors, so cheap ANN settings miss some (HNSW with ef_search=16 finds
89%), while the default settings reach 0.95 or more. A flatter spectrum (i ** -0.6, noise 0.9, 2000
clusters) was tried first: HNSW found only 72% and IVF-PQ 55% on 20k vectors at the same settings,
which is harder than published ANN results on real CLIP embeddings.

Part 2, micro-batching: 32 client threads each embed texts one request at a time through the engine's
`MicroBatcher`, against the same 32 threads calling the model directly (what the service did before).
Run on a randomly initialised CLIP of ViT-B/32's exact shape (same compute as the real model; the
weights cannot be downloaded here) and on the tiny test CLIP. Prints requests/s and the ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

INDEX_TYPES = ("flat", "hnsw", "ivfpq")
# Query-time settings tried on each approximate index after its defaults (per-request knobs).
SWEEP = {
    "hnsw": [("ef_search", v) for v in (16, 32, 64, 256)],
    "ivfpq": [("nprobe", v) for v in (8, 16, 64, 128)],
}


# -- synthetic vectors ------------------------------------------------------------------------


def synthetic_vectors(
    n: int, dim: int, *, seed: int, clusters: int = 1000, chunk: int = 100_000
) -> np.ndarray:
    """CLIP-like unit vectors (see the module docstring); the structure depends only on `dim`."""
    structure = np.random.default_rng(1234)
    shared = _unit(structure.standard_normal(dim))
    centres = _unit(structure.standard_normal((clusters, dim)))
    rotation, _ = np.linalg.qr(structure.standard_normal((dim, dim)))
    spectrum = (1.0 + np.arange(dim)) ** -0.8
    spectrum /= np.sqrt((spectrum**2).sum())
    mixing = (spectrum[:, None] * rotation.T).astype(np.float32)  # z @ mixing: anisotropic noise

    rng = np.random.default_rng(seed)
    out = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, chunk):
        size = min(chunk, n - start)
        labels = rng.integers(0, clusters, size)
        noise = rng.standard_normal((size, dim), dtype=np.float32) @ mixing
        out[start : start + size] = _unit(0.5 * shared + centres[labels] + 0.6 * noise)
    return out


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


# -- index types --------------------------------------------------------------------------------


def _index_bytes(index) -> int:
    import faiss

    with tempfile.NamedTemporaryFile(dir=os.environ.get("TMPDIR")) as handle:
        faiss.write_index(index, handle.name)
        return os.path.getsize(handle.name)


def _latencies_ms(index_type, index, params, queries, k) -> list[float]:
    from services.retrieval import faiss_index

    timings = []
    for query in queries:
        started = time.perf_counter()
        faiss_index.search(index, index_type, params, query, k)
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def _recall(truth: np.ndarray, found: list[list[int]], k: int) -> float:
    return float(
        np.mean([len(set(t[:k]) & set(f[:k])) / k for t, f in zip(truth, found, strict=True)])
    )


def bench_index_types(
    n: int, dim: int, queries: int, k: int, types: list[str], build_threads: int, query_threads: int
) -> list[dict]:
    import faiss

    from services.retrieval import faiss_index

    started = time.perf_counter()
    vectors = synthetic_vectors(n, dim, seed=1)
    query_vectors = synthetic_vectors(queries, dim, seed=2)
    print(f"\n## {n:,} vectors, d={dim} (made in {time.perf_counter() - started:.1f} s)")
    faiss.omp_set_num_threads(build_threads)
    exact = faiss.IndexFlatIP(dim)
    exact.add(vectors)
    truth_scores, truth = exact.search(query_vectors, k)
    print(
        f"query -> 1st / 10th neighbour cosine: {truth_scores[:, 0].mean():.3f} / "
        f"{truth_scores[:, -1].mean():.3f}"
    )
    del exact

    rows = []
    for index_type in types:
        params = faiss_index.resolve_params(index_type, n, dim)
        faiss.omp_set_num_threads(build_threads)
        started = time.perf_counter()
        index = faiss_index.build_index(vectors, index_type, params)
        build_s = time.perf_counter() - started
        faiss.omp_set_num_threads(query_threads)
        timings = _latencies_ms(index_type, index, params, query_vectors, k)
        found = [faiss_index.search(index, index_type, params, q, k).rows for q in query_vectors]
        row = {
            "n": n,
            "type": index_type,
            "params": params,
            "build_s": build_s,
            "p50_ms": statistics.median(timings),
            "p99_ms": float(np.percentile(timings, 99)),
            "recall": _recall(truth, found, k),
            "mib": _index_bytes(index) / 2**20,
        }
        rows.append(row)
        print(
            f"{index_type:<6} build {build_s:8.1f} s  p50 {row['p50_ms']:8.3f} ms  "
            f"p99 {row['p99_ms']:8.3f} ms  recall@{k} {row['recall']:.3f}  "
            f"{row['mib']:8.0f} MiB  {params}",
            flush=True,
        )
        for knob, value in SWEEP.get(index_type, []):
            options = faiss_index.SearchOptions(**{knob: value})
            timings = []
            found = []
            for query in query_vectors:
                started = time.perf_counter()
                found.append(
                    faiss_index.search(index, index_type, params, query, k, options=options).rows
                )
                timings.append((time.perf_counter() - started) * 1000)
            swept = {
                **row,
                "params": {**params, knob: value},
                "p50_ms": statistics.median(timings),
                "p99_ms": float(np.percentile(timings, 99)),
                "recall": _recall(truth, found, k),
                "knob": f"{knob}={value}",
            }
            rows.append(swept)
            print(
                f"  {knob}={value:<5} p50 {swept['p50_ms']:8.3f} ms  p99 {swept['p99_ms']:8.3f} ms  "
                f"recall@{k} {swept['recall']:.3f}",
                flush=True,
            )
        del index
    flat = next((r for r in rows if r["type"] == "flat"), None)
    for row in rows:
        if flat and row is not flat:
            print(
                f"flat p50 / {row['type']} {row.get('knob', 'defaults')} p50 = "
                f"{flat['p50_ms'] / row['p50_ms']:.0f}x at recall@{k} {row['recall']:.3f}"
            )
    return rows


# -- micro-batching -------------------------------------------------------------------------


def build_clip_b32_shape(out: Path) -> Path:
    """A randomly initialised CLIP with ViT-B/32's configuration and the tiny tokenizer."""
    from transformers import CLIPConfig, CLIPImageProcessorPil, CLIPModel, CLIPTokenizer

    from services.common.tiny import write_clip_tokenizer

    if (out / "config.json").is_file():
        return out
    write_clip_tokenizer(out)
    tokenizer = CLIPTokenizer.from_pretrained(str(out))
    config = CLIPConfig(
        text_config=dict(
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
        ),
        projection_dim=512,
    )  # defaults: text 12 x 512, vision ViT-B/32 12 x 768 at 224 px
    CLIPModel(config).save_pretrained(str(out))
    CLIPImageProcessorPil(
        size={"shortest_edge": 224}, crop_size={"height": 224, "width": 224}
    ).save_pretrained(str(out))
    return out


def _throughput(call, clients: int, requests_per_client: int) -> float:
    barrier = threading.Barrier(clients + 1)
    errors: list[BaseException] = []

    def client(worker: int) -> None:
        barrier.wait()
        try:
            for i in range(requests_per_client):
                call(f"motif {worker} dots {i % 7} sekar kawung")
        except BaseException as exc:  # reported below: a failed run must not look fast
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(w,)) for w in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"{len(errors)} clients failed, first: {errors[0]!r}")
    return clients * requests_per_client / elapsed


def bench_batching(
    model_dir: Path, label: str, clients: int, requests: int, wait_ms: float
) -> None:
    from services.retrieval.batching import MicroBatcher
    from services.retrieval.encoder import ClipEncoder

    encoder = ClipEncoder(str(model_dir), device="cpu", batch_size=clients)
    encoder.embed_texts(["warm up"])
    # The service before micro-batching: every request thread runs its own model call.
    unbatched = _throughput(lambda text: encoder.embed_texts([text]), clients, requests)
    batcher = MicroBatcher(encoder.embed_texts, max_batch=clients, max_wait_s=wait_ms / 1000)
    batched = _throughput(lambda text: batcher.embed([text]), clients, requests)
    mean_batch = batcher.items / max(batcher.batches, 1)
    batcher.close()
    print(
        f"{label:<16} {clients} clients: unbatched {unbatched:8.1f} req/s, micro-batched "
        f"{batched:8.1f} req/s (mean batch {mean_batch:.1f}) -> {batched / unbatched:.1f}x",
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--types", nargs="+", default=list(INDEX_TYPES), choices=INDEX_TYPES)
    parser.add_argument("--threads", type=int, default=None, help="FAISS threads for building")
    parser.add_argument(
        "--query-threads",
        type=int,
        default=1,
        help="FAISS and torch threads while timing queries and batching (a service runs many "
        "queries at once, one thread each; more threads on a busy CPU only add contention)",
    )
    parser.add_argument("--skip-indexes", action="store_true")
    parser.add_argument("--skip-batching", action="store_true")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--requests", type=int, default=8, help="requests per client")
    parser.add_argument("--batch-wait-ms", type=float, default=2.0)
    parser.add_argument("--models-dir", default=".cache/bench-models")
    args = parser.parse_args(argv)

    import faiss
    import torch

    build_threads = args.threads or faiss.omp_get_max_threads()
    torch.set_num_threads(args.query_threads)
    print(
        f"faiss {faiss.__version__}, {faiss.omp_get_max_threads()} OpenMP threads, "
        f"torch {torch.__version__}, {os.cpu_count()} CPUs; building with {build_threads} "
        f"threads, querying with {args.query_threads}"
    )
    if not args.skip_indexes:
        for n in args.sizes:
            bench_index_types(
                n, args.dim, args.queries, args.k, args.types, build_threads, args.query_threads
            )
    if not args.skip_batching:
        from services.common.tiny import build_tiny_clip

        models = Path(args.models_dir)
        tiny = models / "tiny-clip"
        if not (tiny / "config.json").is_file():
            build_tiny_clip(tiny)
        print("\n## micro-batching (text embeddings)")
        bench_batching(
            build_clip_b32_shape(models / "clip-b32-shape"),
            "ViT-B/32 shape",
            args.clients,
            args.requests,
            args.batch_wait_ms,
        )
        bench_batching(tiny, "tiny CLIP", args.clients, args.requests * 4, args.batch_wait_ms)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
