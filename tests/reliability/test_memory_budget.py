"""Issue 16, finding 1: legal images must not blow up memory. A 4096x4096 PNG is a ~60-130 KB body
and a 50-67 MB decode; before the decode budget, 16 concurrent ones took retrieval and captioning
gigabytes past their resting size. Measured on the real service processes: VmHWM (the kernel's peak
resident size) from /proc/<pid>/status, reset before each burst through /proc/<pid>/clear_refs.

The figures (printed with -s) are in docs/RELIABILITY.md. Latencies are printed, never asserted.
"""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from benchmarks.hostile import maximal_pngs, reset_peak, status_kib

pytestmark = pytest.mark.e2e

CONCURRENT = 16
# The goal of the issue: every service's peak within 1 GB of its resting size.
MAX_GROWTH_MIB = 1024
WATCHED = ("gateway", "retrieval", "captioning")


async def _burst(url: str, path: str, bodies: list[dict], health_url: str):
    """All bodies at once; meanwhile /healthz is polled. Returns responses and /healthz latencies."""
    latencies: list[float] = []
    async with httpx.AsyncClient(timeout=600) as client:

        async def probe(stop: asyncio.Event) -> None:
            while not stop.is_set():
                started = time.perf_counter()
                await client.get(f"{health_url}/healthz")
                latencies.append(time.perf_counter() - started)
                await asyncio.sleep(0.05)

        stop = asyncio.Event()
        prober = asyncio.create_task(probe(stop))
        responses = await asyncio.gather(*(client.post(f"{url}{path}", json=b) for b in bodies))
        stop.set()
        await prober
    return responses, latencies


CASES = {
    "retrieval /v1/embed": ("retrieval", "/v1/embed", lambda image: {"images": [image]}),
    "retrieval /v1/search": ("retrieval", "/v1/search", lambda image: {"image": image, "top_k": 1}),
    "captioning /v1/caption": (
        "captioning",
        "/v1/caption",
        lambda image: {"image": image, "max_new_tokens": 4},
    ),
    "gateway /v1/rag": (
        "gateway",
        "/v1/rag",
        lambda image: {"image": image, "generate": False, "top_k": 1},
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_sixteen_maximal_uploads_stay_within_a_gigabyte(reliability_stack, case):
    target, path, make = CASES[case]
    pids = {name: reliability_stack.services[name].process.pid for name in WATCHED}
    for pid in pids.values():
        reset_peak(pid)
    resting = {name: status_kib(pid, "VmRSS") for name, pid in pids.items()}
    bodies = [make(image) for image in maximal_pngs(CONCURRENT)]
    responses, latencies = asyncio.run(
        _burst(reliability_stack.url(target), path, bodies, reliability_stack.url(target))
    )
    peak = {name: status_kib(pid, "VmHWM") for name, pid in pids.items()}
    after = {name: status_kib(pid, "VmRSS") for name, pid in pids.items()}
    statuses = sorted(r.status_code for r in responses)
    for name in WATCHED:
        print(
            f"{case}: {name} resting {resting[name] / 1024:.0f} MiB, peak {peak[name] / 1024:.0f} "
            f"MiB (+{(peak[name] - resting[name]) / 1024:.0f}), after {after[name] / 1024:.0f} MiB"
        )
    print(f"{case}: statuses {statuses}; /healthz max {max(latencies) * 1000:.0f} ms")
    assert all(r.status_code in (200, 429) for r in responses), [
        (r.status_code, r.text[:200]) for r in responses if r.status_code not in (200, 429)
    ]
    assert all("retry-after" in r.headers for r in responses if r.status_code == 429)
    assert statuses.count(200) > 0, statuses
    for name in WATCHED:
        growth_mib = (peak[name] - resting[name]) / 1024
        assert growth_mib < MAX_GROWTH_MIB, f"{name}: +{growth_mib:.0f} MiB under {case}"
