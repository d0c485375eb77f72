"""What saving a design costs a RAG answer: `/v1/rag` with and without `"save": false`, interleaved
in one run on the tiny-model stack (five real processes, the library on SQLite, a cache Redis and a
job Redis that persists as deployed: append-only file, fsync every second, noeviction).

Every request is a cache miss (its own seed), so both arms run the whole flow. The `save` arm names
its design and queues it in the job Redis's outbox (step 8); the gateway's drain then embeds it
through retrieval and stores it in the library, after the answer. Each saved request waits, outside
its timed answer, until the library has the design, so the next request never shares the machine
with the last one's save and the two arms see the same machine. Printed: each arm's wall-clock p50
and p90, the difference of the p50s, the p50 of the `library` stage the answers report (step 8 on
the answer's path), how long after the answer the design was in the library, and CPU time (the
mean per request, of the gateway alone and of all five processes together, answer and save
included), which is the steadier figure on a loaded shared machine. Then the save's two calls alone
(retrieval's embed, the library's `POST /v1/designs`), as the drain makes them.

    python -m benchmarks.library_save [--repeat 40] [--library-dir DIR]

`--library-dir` puts the library's SQLite file and PNGs there (default: the run's temporary
directory on disk). On tmpfs (`/dev/shm/...`) every fsync is free, which shows how much of the
library's write is the durable writes (the PNG file and its directory, then the SQLite commit).
"""

from __future__ import annotations

import argparse
import statistics
import time

import httpx
import psutil

from benchmarks.serving import _summary, _timed, tiny_stack


class CpuClock:
    """User + system CPU seconds of some processes, summed."""

    def __init__(self, pids: list[int]) -> None:
        self.processes = [psutil.Process(pid) for pid in pids]

    def __call__(self) -> float:
        return sum(sum(p.cpu_times()[:2]) for p in self.processes)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--library-dir", default=None, help="where the library keeps its data")
    args = parser.parse_args()
    env = {"LIBRARY_LOG_LEVEL": "WARNING"}
    if args.library_dir:
        env["LIBRARY_DIR"] = args.library_dir  # replaces the stack's own
    flow = {"text": "sekar bunga", "steps": 10, "strength": 0.5}
    with tiny_stack(env, library=True, job_redis=True) as urls:
        gateway, library = urls["gateway"], urls["library"]
        gateway_cpu = CpuClock([urls.pids["gateway"]])
        stack_cpu = CpuClock(list(urls.pids.values()))  # the five and the job Redis
        wall: dict[str, list[float]] = {"save": [], "nosave": []}
        cpu: dict[str, list[float]] = {"save": [], "nosave": []}
        own_cpu: dict[str, list[float]] = {"save": [], "nosave": []}
        path_cpu: dict[str, list[float]] = {"save": [], "nosave": []}  # until the answer
        stage: list[float] = []
        landed: list[float] = []
        owner = {"X-Owner-Id": "anonymous"}
        with httpx.Client(timeout=120) as http:

            def in_library(design_id: str) -> None:
                while (
                    http.get(f"{library}/v1/designs/{design_id}", headers=owner).status_code != 200
                ):
                    time.sleep(0.002)

            for seed in range(3):  # warm up both paths (first PNG, first row, first embed)
                answer = http.post(f"{gateway}/v1/rag", json={**flow, "seed": 10_000 + seed})
                in_library(answer.json()["designs"][0]["id"])
            for i in range(args.repeat):
                for arm in ("save", "nosave"):
                    body = {**flow, "seed": 2 * i + (arm == "nosave")}
                    if arm == "nosave":
                        body["save"] = False
                    cpu0, own0 = stack_cpu(), gateway_cpu()
                    started = time.perf_counter()
                    response = http.post(f"{gateway}/v1/rag", json=body)
                    answered = time.perf_counter()
                    path_cpu[arm].append((gateway_cpu() - own0) * 1000)
                    wall[arm].append((answered - started) * 1000)
                    response.raise_for_status()
                    answer = response.json()
                    if arm == "save":
                        assert answer["designs"] and not answer["degraded"], answer["degraded"]
                        stage.append(answer["timings_ms"]["library"])
                        in_library(answer["designs"][0]["id"])
                        landed.append((time.perf_counter() - answered) * 1000)
                    else:
                        assert answer["designs"] == []
                    cpu[arm].append((stack_cpu() - cpu0) * 1000)
                    own_cpu[arm].append((gateway_cpu() - own0) * 1000)
            # The drain's two calls alone, straight to the services: embed the image, store it.
            answer = http.post(f"{gateway}/v1/rag", json={**flow, "seed": 99_999}).json()
            design_id = answer["designs"][0]["id"]
            in_library(design_id)
            design = http.get(f"{library}/v1/designs/{design_id}", headers=owner).json()
            image = answer["images"][0]
            embed = _timed(
                lambda i: http.post(f"{urls['retrieval']}/v1/embed", json={"images": [image]}),
                args.repeat,
            )
            vector = http.post(f"{urls['retrieval']}/v1/embed", json={"images": [image]}).json()
            store = _timed(
                lambda i: http.post(
                    f"{library}/v1/designs",
                    json={
                        "image_b64": image,
                        "embedding": vector["images"][0],
                        "provenance": design["provenance"],
                    },
                    headers={"X-Owner-Id": "bench"},
                ),
                args.repeat,
            )
        with_save = _summary("/v1/rag miss, save (default)", wall["save"])
        without = _summary('/v1/rag miss, "save": false', wall["nosave"])
        library_stage = _summary("step 8 on the answer's path (library stage)", stage)
        _summary("answer -> design in the library (the drain)", landed)
        _summary("  retrieval POST /v1/embed, 1 image", embed)
        _summary("  library POST /v1/designs", store)
        paired = statistics.median(a - b for a, b in zip(wall["save"], wall["nosave"], strict=True))
        mean = statistics.fmean
        print("\nCPU ms per request, mean (psutil, 10 ms ticks: means over the run):")
        for arm in ("save", "nosave"):
            print(
                f"  {arm:>6}: gateway until the answer {mean(path_cpu[arm]):6.2f}, "
                f"gateway with the save after {mean(own_cpu[arm]):6.2f}, "
                f"all five processes and the job Redis {mean(cpu[arm]):7.2f}"
            )
        print(
            f"\nsaving adds {with_save - without:+.2f} ms at p50 to a full answer "
            f"({with_save / without:.3f}x; median of the paired differences {paired:+.2f} ms); "
            f"step 8 on the answer's path: p50 {library_stage:.2f} ms.\nCPU per saved design: "
            f"gateway until the answer {mean(path_cpu['save']) - mean(path_cpu['nosave']):+.2f} ms, "
            f"gateway in all {mean(own_cpu['save']) - mean(own_cpu['nosave']):+.2f} ms, "
            f"whole stack {mean(cpu['save']) - mean(cpu['nosave']):+.2f} ms"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
