"""Load, the short version (a few seconds per run) of `python -m benchmarks.load`: 50 concurrent
clients on search and on a cached RAG request, then more clients than generation's bound, then 50
on the gateway with one of them sending maximal legal images. Latencies are
printed, never asserted (shared machine); what is asserted is the behaviour: no errors, no status other
than the allowed ones, Retry-After on every 429, memory that does not run away.

The long run (60 s per run) is `python -m benchmarks.load` (docs/RELIABILITY.md).
"""

from __future__ import annotations

import asyncio
import os

import pytest

from benchmarks.load import standard_runs, violations

pytestmark = pytest.mark.e2e

SECONDS = float(os.environ.get("BATIK_LOAD_SECONDS", "3"))
# Resident memory may grow by a few MiB of buffers and caches under load; not by this much.
MAX_RSS_GROWTH_MIB = 100


def test_load_and_overload(reliability_stack):
    urls = {name: reliability_stack.url(name) for name in ("gateway", "retrieval", "generation")}
    # The hostile run's peaks (VmHWM) of the processes its maximal images reach.
    pids = {
        n: reliability_stack.services[n].process.pid for n in ("gateway", "retrieval", "captioning")
    }
    runs = asyncio.run(
        standard_runs(urls, duration_s=SECONDS, clients=50, overload_clients=16, pids=pids)
    )
    for result, _ in runs:
        print(result.line())
    problems = [problem for result, allowed in runs for problem in violations(result, allowed)]
    assert not problems, problems
    by_name = {result.name: result for result, _ in runs}
    # Past generation's bound (GENERATION_MAX_INFLIGHT=2) clients are refused, not queued: 429s came,
    # straight from generation and through the gateway (generation's, or its per-key bound's).
    assert by_name["overload"].statuses[429] > 0, by_name["overload"].statuses
    assert by_name["overload rag"].statuses[429] > 0, by_name["overload rag"].statuses
    # Issue 16: 50 clients, one sending maximal legal images: only 200 and 429 (with Retry-After),
    # and each service's peak within 1 GiB of its rest (both in `violations`).
    assert set(by_name["hostile"].peaks) == set(pids), by_name["hostile"].line()
    for result, _ in runs:
        if result.name == "hostile":
            continue  # its memory is bounded by the peaks above: decoded images are large
        growth = result.rss_growth_mib
        assert growth is not None and growth < MAX_RSS_GROWTH_MIB, result.line()
