"""Serving benchmark on the tiny models: what the gateway and its cache cost, as ratios from one run.

Starts the four services as real processes (as `batik demo` does) with a Redis of their own, then
times, over loopback HTTP: the gateway's overhead (the same reference image through the gateway and
straight from retrieval, interleaved), retrieval's /v1/search, the gateway's /v1/rag without
generation, the full flow on a cache miss and on a cache hit, and cached /v1/rag answers per second
on the one gateway worker under concurrent clients. The machine is shared and noisy: compare the
ratios, not the milliseconds, and only within one run.

    python -m benchmarks.serving [--repeat 30] [--overhead-repeat 300] [--rps-seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx

from services import launcher
from services.launcher import free_port

BENCH_ENV = {
    **launcher.TINY_STACK_ENV,
    # On, as in production (one Redis round trip per request), but never reached by a benchmark.
    "GATEWAY_RATE_LIMIT_PER_WINDOW": "1000000000",
    "GATEWAY_LOG_LEVEL": "WARNING",
    # 50 concurrent searches (the load runs) are served, not shed: the default bound (8) answers
    # 429 past 8 in flight. Micro-batching merges them into a few model calls anyway.
    "RETRIEVAL_MAX_INFLIGHT": "64",
    "RETRIEVAL_LOG_LEVEL": "WARNING",
    "CAPTIONING_LOG_LEVEL": "WARNING",
    "GENERATION_LOG_LEVEL": "WARNING",
}


def _timed(call, repeat: int) -> list[float]:
    samples = []
    for i in range(repeat):
        started = time.perf_counter()
        response = call(i)
        samples.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    return samples


def _summary(name: str, samples: list[float]) -> float:
    p50 = statistics.median(samples)
    p90 = statistics.quantiles(samples, n=10)[-1] if len(samples) >= 10 else max(samples)
    print(f"{name:<34} n={len(samples):<4} p50 {p50:9.2f} ms   p90 {p90:9.2f} ms")
    return p50


@contextlib.contextmanager
def _private_redis() -> Iterator[str | None]:
    """A redis-server of our own on a free port when the binary exists; else None (in-process LRU)."""
    import redis

    binary = shutil.which("redis-server")
    if binary is None:
        yield launcher.redis_url_if_running()
        return
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        client = redis.Redis(port=port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


class Stack(dict):
    """The running stack's base URLs by name; `pids` by name too (for CPU time)."""

    pids: dict[str, int]


@contextlib.contextmanager
def tiny_stack(
    extra_env: dict[str, str] | None = None, *, library: bool = False, job_redis: bool = False
) -> Iterator[Stack]:
    """The four services (with `library`, five: the library on SQLite in the work directory) as
    real processes on the tiny models and a synthetic index, with a Redis of their own; yields
    their base URLs by name. `job_redis`: jobs (and the design outbox) in a second Redis that
    persists as deployed (append-only file, fsync every second, noeviction)."""
    from services.common.tiny import build_tiny_models
    from services.retrieval.ingest import ingest
    from services.retrieval.sample_data import write_sample_dataset

    work = Path(tempfile.mkdtemp(prefix="batik-bench-"))
    models = build_tiny_models(work / "models")
    images, workbook = write_sample_dataset(work / "data")
    ingest(images, workbook, work / "index", model_source=str(models["clip"]), progress=False)
    names = ("gateway", "retrieval", "captioning", "generation", *(("library",) if library else ()))
    ports = {n: free_port() for n in names}
    jobs = launcher.job_redis_process(work / "job-redis") if job_redis else None
    with _private_redis() as redis_url:
        services = launcher.stack(
            clip=str(models["clip"]),
            blip2=str(models["blip2"]),
            sd=str(models["sd"]),
            index_dir=work / "index",
            redis_url=redis_url,
            ports=ports,
            extra_env={**BENCH_ENV, **(extra_env or {})},
            library_dir=work / "library" if library else None,
            job_redis=launcher.redis_address(jobs) if jobs else None,
        )
        with launcher.running([*([jobs] if jobs else []), *services], work / "logs") as running:
            print(f"tiny models, 64 px images; cache: {redis_url or 'in-process LRU'}\n")
            stack = Stack({name: f"http://127.0.0.1:{port}" for name, port in ports.items()})
            stack.pids = {s.name: s.process.pid for s in running if s.process is not None}
            yield stack


def _interleaved(calls: dict[str, Callable[[int], httpx.Response]], repeat: int):
    """Time each call `repeat` times, alternating between them so drift on a shared machine hits
    every one alike."""
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for i in range(repeat):
        for name, call in calls.items():
            started = time.perf_counter()
            response = call(i)
            samples[name].append((time.perf_counter() - started) * 1000)
            response.raise_for_status()
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--overhead-repeat", type=int, default=300)
    parser.add_argument("--rps-seconds", type=float, default=10.0)
    parser.add_argument("--rps-clients", type=int, default=16)
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra setting for the services, e.g. GATEWAY_RATE_LIMIT_PER_WINDOW=0 (repeatable)",
    )
    args = parser.parse_args()

    with tiny_stack(dict(item.split("=", 1) for item in args.env)) as urls:
        gateway, retrieval = urls["gateway"], urls["retrieval"]
        flow = {"steps": 10, "strength": 0.5}
        with httpx.Client(timeout=120) as http:
            http.post(f"{gateway}/v1/rag", json={"text": "warm up", "seed": 1, **flow})
            # 1. What the gateway adds to one upstream call: the same image through it and direct.
            both = _interleaved(
                {
                    "direct": lambda i: http.get(f"{retrieval}/v1/images/{i % 8}?size=224"),
                    "gateway": lambda i: http.get(f"{gateway}/v1/images/{i % 8}?size=224"),
                },
                args.overhead_repeat,
            )
            direct = _summary("retrieval GET /v1/images/{id}", both["direct"])
            proxied = _summary("gateway GET /v1/images/{id}", both["gateway"])
            search = _summary(
                "retrieval POST /v1/search",
                _timed(
                    lambda i: http.post(f"{retrieval}/v1/search", json={"text": f"motif {i}"}),
                    args.repeat,
                ),
            )
            no_generation = _summary(
                "gateway /v1/rag generate=false",
                _timed(
                    lambda i: http.post(
                        f"{gateway}/v1/rag", json={"text": f"nogen {i}", "generate": False}
                    ),
                    args.repeat,
                ),
            )
            miss = _summary(
                "gateway /v1/rag full flow, miss",
                _timed(
                    lambda i: http.post(
                        f"{gateway}/v1/rag", json={"text": "sekar bunga", "seed": 1000 + i, **flow}
                    ),
                    args.repeat,
                ),
            )
            hit = _summary(
                "gateway /v1/rag full flow, hit",
                _timed(
                    lambda i: http.post(
                        f"{gateway}/v1/rag", json={"text": "sekar bunga", "seed": 1000, **flow}
                    ),
                    args.repeat,
                ),
            )
        # 2. Cached answers per second on the one gateway worker, many clients at once.
        from benchmarks.load import run_load

        cached = asyncio.run(
            run_load(
                "rag cached",
                f"{gateway}/v1/rag",
                lambda i: {"text": "sekar bunga", "seed": 1000, **flow},
                clients=args.rps_clients,
                duration_s=args.rps_seconds,
            )
        )
        print(cached.line())
        print(
            f"\ngateway overhead at p50 = {proxied - direct:+.2f} ms "
            f"(gateway {proxied:.2f} ms, direct {direct:.2f} ms; target < 2 ms)\n"
            f"ratios: miss / hit = {miss / hit:.1f}x (target >= 50x)   "
            f"rag(generate=false) / search = {no_generation / search:.1f}x   "
            f"miss / rag(generate=false) = {miss / no_generation:.1f}x\n"
            f"cached /v1/rag on one gateway worker: {cached.rps:.0f} req/s with "
            f"{args.rps_clients} clients ({sum(cached.statuses.values())} requests, "
            f"statuses {dict(cached.statuses)}, {len(cached.errors)} errors)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
