"""Library benchmark: a page of 50 designs out of 100,000, and nearest designs over 100,000 embeddings.

Seeds one owner with `--designs` rows (plus a second owner with a tenth as many, so that the owner
condition matters) on SQLite and on PostgreSQL, with provenance of a realistic size (five references
with their motif texts, the fused prompt and its parts, captions: about 3 KB of JSON a design) and a
512-dimension embedding each. Then times, at p50 and p95 over `--repeat` calls:

- a page of 50 in the store (`list_designs_json`, what the service's handler calls) and through the
  service as deployed (a uvicorn process of its own, keep-alive HTTP over loopback, beside its
  `/healthz` as the floor of HTTP alone), newest first from the top and from deep cursors, and with
  each filter: motif, favourite, a board holding 5,000 and one holding 60 spread over the library,
  words (q), a time window; and the served process's memory (/proc/<pid>/status);
- `nearest` over the owner's 100,000 embeddings (the in-memory matrix, checked against the owner's
  revision in the database on every call, scanned in `--search-threads` threads as the service does
  with `LIBRARY_SEARCH_THREADS`), beside its floor, the scan alone in one thread and in several, and
  how long building that matrix takes once.

Each case runs round-robin with the others (shuffled every round), and each is reported as wall-clock
p50 and as the CPU time this process spent (p50): on a shared, loaded machine the wall clock mostly
measures the wait for a core, the CPU time what the work costs. Targets (issue 20): a page under 10 ms at p50,
nearest under 20 ms at p50.

    python -m benchmarks.library [--designs 100000] [--repeat 200] [--pg-url URL] [--skip-postgres]

PostgreSQL: a private database is created on `--pg-url`'s server (default: the one on 127.0.0.1:5432)
and dropped at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import httpx
import numpy as np

from services.launcher import free_port
from services.library import migrate
from services.library.config import LibrarySettings
from services.library.files import FileStore
from services.library.nearest import inner_products
from services.library.schema import BoardDesignRow, BoardRow, DesignMotifRow, DesignRow
from services.library.store import DesignFilter, LibraryStore, Scope, decode_cursor, encode_cursor

OWNER, OTHER = "bench-owner", "other-owner"
DIM = 512
MOTIFS = 60
WORDS = [
    "kawung",
    "parang",
    "sekar",
    "jagad",
    "truntum",
    "nitik",
    "sogan",
    "lereng",
    "ceplok",
    "gringsing",
]


def _provenance(rng: random.Random, motifs: list[int], seed: int) -> dict:
    references = [
        {
            "id": rng.randrange(960),
            "score": round(rng.random(), 4),
            "motif": {
                "number": m,
                "name": f"Motif {m} {rng.choice(WORDS).title()}",
                "description_id": "Motif nitik dengan isen-isen titik yang tersusun rapi. " * 2,
                "description_en": "A nitik motif of dots set in a regular grid of petals. " * 2,
                "philosophy": "It stands for patience and order.",
            },
            "file": f"{m} Motif {m} 1.jpg",
            "instance": 1,
            "rotation": 0,
        }
        for m in motifs
    ]
    prompt = f"{rng.choice(WORDS)} {rng.choice(WORDS)} batik, brown sogan, four petals, fine dots"
    return {
        "request": {"text": prompt.split(",")[0], "top_k": 5, "seed": seed, "steps": 30},
        "prompt": {
            "text": prompt,
            "parts": [
                {"source": s, "text": prompt[:40], "tokens": 9, "kept": "full"}
                for s in ("query", "motif", "caption", "fact")
            ],
            "tokens": 24,
            "truncated": False,
            "cut": [],
        },
        "references": references,
        "captions": [
            {"reference_id": r["id"], "text": "a brown batik of dots"} for r in references
        ],
        "seed": seed,
        "scheduler": "dpmpp_2m",
        "steps": 30,
        "strength": 0.55,
        "guidance_scale": 7.5,
        "versions": {"model": "sd15", "adapter": "nitik", "index": "v1"},
        "timings_ms": {"retrieval": 12.0, "captioning": 300.0, "generation": 4000.0},
    }


def seed_library(store: LibraryStore, designs: int, sha: str) -> dict[str, object]:
    """Rows straight into the tables (what `create_design` writes, minus 100,000 PNG files)."""
    rng = random.Random(20)
    vectors = np.random.default_rng(20).standard_normal((designs, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    start_us = 1_700_000_000_000_000
    board_id, sparse_id = "b_" + "0" * 20, "b_" + "1" * 20
    with store.session(write=True) as session:
        session.add(BoardRow(id=board_id, owner=OWNER, name="bench", created_us=start_us))
        session.add(BoardRow(id=sparse_id, owner=OWNER, name="sparse", created_us=start_us))
    total = designs + designs // 10
    batch = 2000
    for first in range(0, total, batch):
        rows, motif_rows, board_rows = [], [], []
        for n in range(first, min(first + batch, total)):
            owner = OWNER if n < designs else OTHER
            motifs = rng.sample(range(1, MOTIFS + 1), 3)
            provenance = _provenance(rng, motifs, n)
            design_id = f"d_{n:020x}"
            created = start_us + n * 1_000_000 + rng.randrange(1000)
            tags = [rng.choice(WORDS)]
            rows.append(
                {
                    "id": design_id,
                    "owner": owner,
                    "created_us": created,
                    "title": None,
                    "notes": None,
                    "tags": tags,
                    "favorite": n % 20 == 0,
                    "parent_id": None,
                    "motifs": motifs,
                    "prompt": provenance["prompt"]["text"],
                    "search_text": " ".join([provenance["prompt"]["text"], *tags]).lower(),
                    "provenance": provenance,
                    "width": 512,
                    "height": 512,
                    "sha256": sha,
                    "size_bytes": 400_000,
                    "embedding": vectors[n % designs].tobytes(),
                    "embedding_dim": DIM,
                }
            )
            motif_rows += [
                {"design_id": design_id, "motif": m, "owner": owner, "created_us": created}
                for m in motifs
            ]
            # Every 20th design on one board; 60 spread over the whole library on another.
            for board, every in ((board_id, 20), (sparse_id, designs // 60 or 1)):
                if owner == OWNER and n % every == 1:
                    board_rows.append(
                        {
                            "board_id": board,
                            "design_id": design_id,
                            "added_us": created,
                            "created_us": created,
                        }
                    )
        with store.session(write=True) as session:
            session.execute(DesignRow.__table__.insert(), rows)
            session.execute(DesignMotifRow.__table__.insert(), motif_rows)
            if board_rows:
                session.execute(BoardDesignRow.__table__.insert(), board_rows)
    with store.session(write=True) as session:
        store.bump_owner(session, OWNER, designs)
        store.bump_owner(session, OTHER, designs // 10)
    # A library that grew over months has been vacuumed and analysed; rows bulk-written a moment
    # ago have not (PostgreSQL would set their hint bits on the first reads and autovacuum them
    # during the timing).
    if store.sqlite:
        with store.engine.connect() as connection:
            connection.exec_driver_sql("ANALYZE")
    else:
        autocommit = store.engine.execution_options(isolation_level="AUTOCOMMIT")
        with autocommit.connect() as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")
    return {
        "board": board_id,
        "sparse board": sparse_id,
        "start": start_us,
        "vectors": vectors,
        "middle": start_us + designs // 2 * 1_000_000,
    }


def _p(samples: list[float], q: float) -> float:
    return statistics.quantiles(samples, n=100)[int(q) - 1] if len(samples) > 2 else samples[0]


def _time_interleaved(
    cases: dict[str, Callable[[int], object]], repeat: int
) -> dict[str, tuple[float, float, float]]:
    """Wall-clock p50, CPU-time p50 (this process, every thread) and wall p95 of each case, run
    round-robin in a shuffled order every round: on a shared,
    loaded machine a burst of load then hits every case alike instead of one."""
    for call in cases.values():
        call(0)  # warm: plans cached, pages in memory, the nearest matrix built
    wall: dict[str, list[float]] = {name: [] for name in cases}
    cpu: dict[str, list[float]] = {name: [] for name in cases}
    order = list(cases)
    shuffle = random.Random(3).shuffle
    for i in range(repeat):
        shuffle(order)
        for name in order:
            started, started_cpu = time.perf_counter(), time.process_time()
            cases[name](i)
            cpu[name].append((time.process_time() - started_cpu) * 1000)
            wall[name].append((time.perf_counter() - started) * 1000)
    return {
        name: (statistics.median(wall[name]), statistics.median(cpu[name]), _p(wall[name], 95))
        for name in cases
    }


class _KeepAlive:
    """GET over one keep-alive connection with the standard library's client: httpx costs about
    1.2 ms a call of its own on this machine, which is the client's time, not the service's."""

    def __init__(self, port: int, headers: dict[str, str]) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.headers = headers

    def get(self, path: str, params: dict[str, object] | None = None) -> bytes:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        self.connection.request("GET", path + query, headers=self.headers)
        answer = self.connection.getresponse()
        body = answer.read()
        assert answer.status == 200, (path, query, answer.status, body[:200])
        return body


@contextlib.contextmanager
def _served(db_url: str, files: Path, headers: dict[str, str]) -> Iterator[tuple[_KeepAlive, int]]:
    """The library service as deployed (`uvicorn services.library.app:app`) on this database, a
    keep-alive client of it, and the server's pid (its memory is read from /proc). Its CPU is its
    own: the cpu column of these cases is the client's."""
    port = free_port()
    env = {
        **os.environ,
        "LIBRARY_DB_URL": db_url,
        "LIBRARY_DIR": str(files),
        "LIBRARY_MIGRATE_ON_START": "false",
        "LIBRARY_LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "-m", "uvicorn", "services.library.app:app", "--port", str(port)]
    server = subprocess.Popen([*command, "--host", "127.0.0.1", "--log-level", "warning"], env=env)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as probe:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if probe.get("/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "the library process never became ready"
                time.sleep(0.1)
        yield _KeepAlive(port, headers), server.pid
    finally:
        server.terminate()
        server.wait(timeout=30)


def _memory_mib(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of a process in MiB, from /proc/<pid>/status."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return tuple(int(fields[name].split()[0]) / 1024 for name in ("VmRSS", "VmHWM"))


def bench_backend(
    name: str, url: str, designs: int, repeat: int, search_threads: int
) -> dict[str, tuple[float, float, float]]:
    from services.common.contracts.library import OWNER_HEADER

    root = Path(tempfile.mkdtemp(prefix=f"batik-bench-{name}-"))
    migrate.upgrade(url)
    store = LibraryStore(url, FileStore(root / "files"), search_threads=search_threads)
    sha = store.files.put(b"\x89PNG placeholder: the page benchmark reads no file")
    started = time.perf_counter()
    seeded = seed_library(store, designs, sha)
    print(
        f"[{name}] seeded {designs} + {designs // 10} designs in {time.perf_counter() - started:.0f} s"
    )
    scope = Scope(OWNER)
    rng = random.Random(7)
    deep = [
        encode_cursor(seeded["start"] + rng.randrange(designs) * 1_000_000, "d_" + "f" * 20)
        for _ in range(64)
    ]
    decode_cursor(deep[0])
    mid = seeded["middle"]
    window = (
        datetime.fromtimestamp((mid - 3600 * 1_000_000) / 1e6, UTC),
        datetime.fromtimestamp(mid / 1e6, UTC),
    )
    # Each page case as the query parameters of GET /v1/designs in round i: timed in the store
    # (`list_designs_json`, what the service's handler calls) and through the served process.
    pages: dict[str, Callable[[int], dict[str, object]]] = {
        "page 1": lambda i: {},
        "deep page (cursor)": lambda i: {"cursor": deep[i % 64]},
        "motif": lambda i: {"motif": 1 + i % MOTIFS},
        "favorite": lambda i: {"favorite": True},
        "board (5,000 on it)": lambda i: {"board": seeded["board"]},
        "board (60 spread over all)": lambda i: {"board": seeded["sparse board"]},
        "q (one word)": lambda i: {"q": WORDS[i % len(WORDS)]},
        "time window": lambda i: {
            "created_after": window[0].isoformat(),
            "created_before": window[1].isoformat(),
        },
    }

    def store_page(params: dict[str, object]) -> bytes:
        params = dict(params)
        cursor = params.pop("cursor", None)
        for moment in ("created_after", "created_before"):
            if moment in params:
                params[moment] = datetime.fromisoformat(params[moment])
        filters = DesignFilter(**params)
        return store.list_designs_json(scope, limit=50, cursor=cursor, filters=filters)

    cases: dict[str, Callable[[int], object]] = {
        f"store {case}": (lambda i, query=query: store_page(query(i)))
        for case, query in pages.items()
    }
    # The same page built as validated models and encoded by pydantic (`list_designs`): what the
    # JSON writer saves, in this run.
    cases["store page 1 as models, then JSON"] = lambda i: store.list_designs(
        scope, limit=50
    ).model_dump_json()
    for case, query in pages.items():
        page = json.loads(store_page(query(0)))
        assert len(page["designs"]) == 50, f"the {case} case must fill a page"

    queries = np.random.default_rng(8).standard_normal((64, DIM)).astype(np.float32)
    started = time.perf_counter()
    store.nearest(scope, queries[0], 10)
    build_ms = (time.perf_counter() - started) * 1000
    exact = seeded["vectors"] @ queries[5]
    best = {f"d_{int(n):020x}" for n in np.argsort(-exact)[:10]}
    assert {h.design.id for h in store.nearest(scope, queries[5], 10)} == best, "nearest is exact"
    matrix = seeded["vectors"]
    cases["nearest top 10"] = lambda i: store.nearest(scope, queries[i % 64], 10)
    # The floor under it: the one matrix-vector product over every embedding, nothing else, with
    # the kernel the store uses (faiss) and with numpy's BLAS, which it replaced.
    cases["(floor) faiss inner products alone"] = lambda i: inner_products(matrix, queries[i % 64])
    helpers = ThreadPoolExecutor(max(search_threads - 1, 1))
    cases[f"(floor) the same in {search_threads} threads"] = lambda i: inner_products(
        matrix, queries[i % 64], helpers, search_threads
    )
    cases["(was) numpy matvec alone"] = lambda i: matrix @ queries[i % 64]
    cases["(calibration) sum(range(100000))"] = lambda i: sum(range(100_000))  # ~1 ms idle

    with _served(url, root / "files", {OWNER_HEADER: OWNER}) as (served, server_pid):
        # What a client of the deployed service waits for: a uvicorn process of its own, over
        # loopback HTTP with keep-alive. /healthz is the floor: HTTP, the middleware, no database.
        cases["served /healthz (the HTTP floor)"] = lambda i: served.get("/healthz")
        for case, query in pages.items():
            cases[f"served {case}"] = lambda i, query=query: served.get("/v1/designs", query(i))
        size = len(served.get("/v1/designs"))
        print(f"[{name}] a page of 50 is {size / 1024:.0f} KB of JSON")
        results = _time_interleaved(cases, repeat)
        rss, peak = _memory_mib(server_pid)
    print(f"[{name}] the served library process: VmRSS {rss:.0f} MiB, VmHWM {peak:.0f} MiB")
    helpers.shutdown()
    results["nearest: building the matrix, once"] = (build_ms, build_ms, build_ms)
    results["nearest after another replica's save"] = _after_replica_writes(store, url, queries)
    store.close()
    return results


def _after_replica_writes(
    store: LibraryStore, url: str, queries: np.ndarray, rounds: int = 20
) -> tuple[float, float, float]:
    """Another store on the same database (a second replica) saves a design, then this one
    searches: its matrix is stale and catches up by the difference of ids."""
    import io

    from PIL import Image

    replica = LibraryStore(url, store.files)
    wall, cpu = [], []
    rebuilds = store.embeddings.rebuilds
    try:
        for i in range(rounds):
            png = io.BytesIO()
            Image.new("RGB", (8, 8), (i, 0, 0)).save(png, format="PNG")
            replica.create_design(
                OWNER, png=png.getvalue(), provenance={}, embedding=queries[i % 64].tolist()
            )
            started, started_cpu = time.perf_counter(), time.process_time()
            hits = store.nearest(Scope(OWNER), queries[i % 64], 10)
            cpu.append((time.process_time() - started_cpu) * 1000)
            wall.append((time.perf_counter() - started) * 1000)
            assert hits[0].score > 0.999, "the replica's design is found at once"
    finally:
        replica.close()
    assert store.embeddings.rebuilds == rebuilds, "caught up without a rebuild"
    return statistics.median(wall), statistics.median(cpu), _p(wall, 95)


def _postgres_database(server_url: str) -> tuple[str, Callable[[], None]]:
    import psycopg

    name = f"batik_bench_{secrets.token_hex(4)}"
    with psycopg.connect(server_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(server_url, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return server_url.rsplit("/", 1)[0] + f"/{name}", drop


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--designs", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument(
        "--search-threads",
        type=int,
        default=LibrarySettings.model_fields["search_threads"].default,
        help="threads of the nearest scan (LIBRARY_SEARCH_THREADS; default: its default)",
    )
    args = parser.parse_args(argv)

    backends = {"sqlite": f"sqlite:///{tempfile.mkdtemp(prefix='batik-bench-')}/library.sqlite3"}
    cleanup = None
    if not args.skip_postgres:
        backends["postgresql"], cleanup = _postgres_database(args.pg_url)
    results = {}
    try:
        for name, url in backends.items():
            results[name] = bench_backend(name, url, args.designs, args.repeat, args.search_threads)
    finally:
        if cleanup:
            cleanup()

    names = list(results)
    print("\nwall: p50 of wall-clock time; cpu: p50 of this process's CPU time for the same calls,")
    print(
        "what the work costs without the wait for a core (PostgreSQL's own time is in wall only)."
    )
    print(
        f"{args.designs} designs of one owner (+{args.designs // 10} of another); ms, wall p50 / cpu p50"
    )
    print(f"{'case':36}" + "".join(f"{n:>22}" for n in names))
    for case in results[names[0]]:
        row = "".join(f"{results[n][case][0]:>12.2f} /{results[n][case][1]:>8.2f}" for n in names)
        print(f"{case:36}{row}")
    for name in names:
        pages = [
            v
            for k, v in results[name].items()
            if k.startswith(("store", "served ")) and "as models" not in k and "/healthz" not in k
        ]
        near = results[name]["nearest top 10"]
        models, written = (
            results[name]["store page 1 as models, then JSON"],
            results[name]["store page 1"],
        )
        print(
            f"[{name}] a page written as JSON directly: {models[0] / written[0]:.2f}x faster than as models"
        )
        print(
            f"[{name}] slowest page p50: wall {max(v[0] for v in pages):.2f} ms, cpu "
            f"{max(v[1] for v in pages):.2f} ms (target 10); nearest p50: wall {near[0]:.2f} ms, "
            f"cpu {near[1]:.2f} ms (target 20)"
        )
    print(
        json.dumps(
            {n: {k: [round(x, 3) for x in v] for k, v in r.items()} for n, r in results.items()}
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
