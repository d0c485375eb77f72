"""Load: many concurrent clients against one endpoint for a while; errors, latency, memory.

An async httpx client per virtual user, each sending its next request as soon as the last answered
(closed loop). Every answer is counted by status; transport errors and client timeouts are errors.
The service's resident memory is read from its `/metrics` (`process_resident_memory_bytes`) before and
after. The runs (what docs/RELIABILITY.md reports):

  search       50 clients on retrieval `POST /v1/search` (texts cycling)          zero errors, only 200
  rag cached   50 clients on the gateway `POST /v1/rag`, one request (cache hits)  zero errors, only 200
  overload     16 clients on generation `POST /v1/generate` (bound: 2 in flight)   only 200 and 429, every
                                                                                   429 with Retry-After
  overload rag 16 clients on the gateway, uncached (a fresh seed each)              the same, passed through
  hostile      50 clients on the gateway `POST /v1/rag`: one sends maximal legal   only 200 and 429, every
               images (a distinct 4096x4096 PNG each time, to retrieval and        429 with Retry-After; each
               captioning), the others cached and uncached requests               service's peak (VmHWM)
                                                                                   within 1 GiB of its rest

    python -m benchmarks.load                          # the long run: the tiny stack, 60 s per run
    python -m benchmarks.load --duration 60 --only hostile   # issue 16's load run alone
    python -m benchmarks.load --duration 5             # short
    python -m benchmarks.load --gateway URL --retrieval URL --generation URL   # a stack already running

Exits 1 when a run breaks its rule. tests/reliability/test_load.py runs the same functions for a few
seconds in CI.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from benchmarks.hostile import distinct_maximal_png, reset_peak, status_kib

Body = Callable[[int], dict[str, Any]]


@dataclass
class LoadResult:
    name: str
    clients: int
    seconds: float = 0.0
    statuses: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    missing_retry_after: int = 0  # 429s without a Retry-After header
    rss_before: float | None = None
    rss_after: float | None = None
    # Per watched process: (VmRSS before the run, VmHWM during it), KiB (benchmarks/hostile.py).
    peaks: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())

    def percentile(self, p: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def rss_growth_mib(self) -> float | None:
        if self.rss_before is None or self.rss_after is None:
            return None
        return (self.rss_after - self.rss_before) / 2**20

    def line(self) -> str:
        rss = (
            f"RSS {self.rss_before / 2**20:.0f} -> {self.rss_after / 2**20:.0f} MiB"
            if self.rss_growth_mib is not None
            else "RSS n/a"
        )
        peaks = "".join(
            f"  {name} {rest / 1024:.0f} -> peak {peak / 1024:.0f} MiB"
            for name, (rest, peak) in self.peaks.items()
        )
        return (
            f"{self.name:<13} {self.clients:>3} clients {self.seconds:5.1f} s  "
            f"{self.requests:>6} req  {self.rps:8.1f} req/s  p50 {self.percentile(50):8.1f} ms  "
            f"p99 {self.percentile(99):8.1f} ms  statuses {dict(sorted(self.statuses.items()))}  "
            f"errors {len(self.errors)}  {rss}{peaks}"
        )

    def peak_growth_mib(self) -> dict[str, float]:
        return {name: (peak - rest) / 1024 for name, (rest, peak) in self.peaks.items()}


async def resident_memory(metrics_url: str) -> float | None:
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            text = (await http.get(metrics_url)).text
    except httpx.HTTPError:
        return None
    match = re.search(r"^process_resident_memory_bytes ([0-9.e+]+)$", text, re.M)
    return float(match.group(1)) if match else None


async def run_load(
    name: str,
    url: str,
    body: Body,
    *,
    clients: int,
    duration_s: float,
    timeout_s: float = 300.0,
    metrics_url: str | None = None,
    special: dict[int, Body] | None = None,
    pids: dict[str, int] | None = None,
) -> LoadResult:
    """`clients` closed-loop users POST `body(i)` to `url` for `duration_s` seconds; user `k` in
    `special` sends `special[k](i)` instead. With `pids`, the peak memory of those processes."""
    result = LoadResult(name, clients)
    if metrics_url:
        result.rss_before = await resident_memory(metrics_url)
    resting = {}
    for process, pid in (pids or {}).items():
        reset_peak(pid)
        resting[process] = status_kib(pid, "VmRSS")
    counter = itertools.count()
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=timeout_s, limits=limits) as http:
        started = time.perf_counter()
        stop_at = started + duration_s

        async def user(make: Body) -> None:
            while time.perf_counter() < stop_at:
                sent = time.perf_counter()
                try:
                    answer = await http.post(url, json=make(next(counter)))
                except httpx.HTTPError as exc:  # refused, reset, or past the client's timeout
                    result.errors.append(f"{exc.__class__.__name__}: {exc}")
                    continue
                result.latencies_ms.append((time.perf_counter() - sent) * 1000)
                result.statuses[answer.status_code] += 1
                if answer.status_code == 429 and "retry-after" not in answer.headers:
                    result.missing_retry_after += 1

        await asyncio.gather(*(user((special or {}).get(k, body)) for k in range(clients)))
        result.seconds = time.perf_counter() - started
    if metrics_url:
        result.rss_after = await resident_memory(metrics_url)
    result.peaks = {p: (resting[p], status_kib(pid, "VmHWM")) for p, pid in (pids or {}).items()}
    return result


def cycling_search(i: int) -> dict[str, Any]:
    words = ("kawung", "sekar bunga", "truntum", "ceplok", "cakar ayam", "tirta teja", "jaya")
    return {"text": words[i % len(words)], "top_k": 5}


CACHED_RAG = {"text": "sekar bunga", "seed": 7, "steps": 10, "strength": 0.5}
QUICK_GENERATION = {"prompt": "batik nitik", "width": 64, "height": 64, "steps": 10, "seed": 1}


def fresh_rag(i: int) -> dict[str, Any]:
    return {**CACHED_RAG, "seed": 100_000 + i}


def ordinary_rag(i: int) -> dict[str, Any]:
    """Most users ask what was asked before (cached); one in eight something new (uncached)."""
    return fresh_rag(i) if i % 8 == 0 else CACHED_RAG


def maximal_upload(i: int) -> dict[str, Any]:
    """A distinct 4096x4096 PNG, searched by and captioned (retrieval and captioning decode it;
    with `init_source: query` the caption is of this image)."""
    image = distinct_maximal_png(i)
    return {"text": "kawung", "image": image, "init_source": "query", "generate": False}


# The goal: every service's peak within 1 GB of its resting size.
MAX_PEAK_GROWTH_MIB = 1024


async def hostile_run(
    urls: dict[str, str], *, duration_s: float, clients: int, pids: dict[str, int] | None = None
) -> LoadResult:
    """The hostile run of the module docstring: client 0 sends maximal legal images."""
    return await run_load(
        "hostile",
        f"{urls['gateway']}/v1/rag",
        ordinary_rag,
        clients=clients,
        duration_s=duration_s,
        metrics_url=f"{urls['gateway']}/metrics",
        special={0: maximal_upload},
        pids=pids,
    )


def violations(result: LoadResult, allowed: set[int]) -> list[str]:
    """What breaks the run's rule: errors, statuses outside `allowed`, 429s without Retry-After."""
    problems = [f"{len(result.errors)} errors, e.g. {result.errors[0]}"] if result.errors else []
    unexpected = {s: n for s, n in result.statuses.items() if s not in allowed}
    if unexpected:
        problems.append(f"unexpected statuses {unexpected}")
    if result.missing_retry_after:
        problems.append(f"{result.missing_retry_after} answers 429 without Retry-After")
    if not result.statuses.get(200):
        problems.append("no request succeeded")
    for process, growth in result.peak_growth_mib().items():
        if growth > MAX_PEAK_GROWTH_MIB:
            problems.append(f"{process} peaked {growth:.0f} MiB above its rest")
    return [f"{result.name}: {p}" for p in problems]


async def standard_runs(
    urls: dict[str, str],
    *,
    duration_s: float,
    clients: int,
    overload_clients: int,
    pids: dict[str, int] | None = None,
    only: str | None = None,
) -> list[tuple[LoadResult, set[int]]]:
    """The runs of the module docstring, one after the other (`only`: just the one named)."""
    if only == "hostile":
        return [
            (await hostile_run(urls, duration_s=duration_s, clients=clients, pids=pids), {200, 429})
        ]
    gateway, retrieval, generation = urls["gateway"], urls["retrieval"], urls["generation"]
    async with httpx.AsyncClient(timeout=300) as http:  # the cached answer exists before the run
        (await http.post(f"{gateway}/v1/rag", json=CACHED_RAG)).raise_for_status()
    runs = [
        (
            await run_load(
                "search",
                f"{retrieval}/v1/search",
                cycling_search,
                clients=clients,
                duration_s=duration_s,
                metrics_url=f"{retrieval}/metrics",
            ),
            {200},
        ),
        (
            await run_load(
                "rag cached",
                f"{gateway}/v1/rag",
                lambda i: CACHED_RAG,
                clients=clients,
                duration_s=duration_s,
                metrics_url=f"{gateway}/metrics",
            ),
            {200},
        ),
        (
            await run_load(
                "overload",
                f"{generation}/v1/generate",
                lambda i: {**QUICK_GENERATION, "seed": i},
                clients=overload_clients,
                duration_s=duration_s,
                metrics_url=f"{generation}/metrics",
            ),
            {200, 429},
        ),
        (
            await run_load(
                "overload rag",
                f"{gateway}/v1/rag",
                fresh_rag,
                clients=overload_clients,
                duration_s=duration_s,
                metrics_url=f"{gateway}/metrics",
            ),
            {200, 429},
        ),
        (
            await hostile_run(urls, duration_s=duration_s, clients=clients, pids=pids),
            {200, 429},
        ),
    ]
    return runs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds per run")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--overload-clients", type=int, default=16)
    parser.add_argument("--gateway")
    parser.add_argument("--retrieval")
    parser.add_argument("--generation")
    parser.add_argument("--only", choices=["hostile"], help="run only this one")
    args = parser.parse_args()

    def report(urls: dict[str, str], pids: dict[str, int] | None = None) -> int:
        runs = asyncio.run(
            standard_runs(
                urls,
                duration_s=args.duration,
                clients=args.clients,
                overload_clients=args.overload_clients,
                pids=pids,
                only=args.only,
            )
        )
        problems = []
        for result, allowed in runs:
            print(result.line(), flush=True)
            problems += violations(result, allowed)
        by_name = {r.name: r for r, _ in runs}
        if "search" in by_name:
            ratio = by_name["rag cached"].percentile(50) / by_name["search"].percentile(50)
            print(f"\ncached rag p50 / search p50 = {ratio:.2f}x")
        print("\n".join(problems) if problems else "every run kept its rule")
        return 1 if problems else 0

    if args.gateway and args.retrieval and args.generation:
        return report(
            {"gateway": args.gateway, "retrieval": args.retrieval, "generation": args.generation}
        )
    from benchmarks.serving import tiny_stack

    with tiny_stack() as urls:  # the peaks are read from our own stack's processes
        return report(urls, {n: urls.pids[n] for n in ("gateway", "retrieval", "captioning")})


if __name__ == "__main__":
    raise SystemExit(main())
