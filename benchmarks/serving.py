"""Serving benchmark on the tiny models: what the gateway and its cache cost, as ratios from one run.

Starts the four services as real processes (as `batik demo` does), then times, over loopback HTTP:
retrieval's /v1/search, the gateway's /v1/rag without generation, the full flow on a cache miss, and
the same request on a cache hit. The machine is shared and noisy: compare the ratios, not the
milliseconds, and only within one run.

    python -m benchmarks.serving [--repeat 30]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from services import launcher


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()

    from services.common.tiny import build_tiny_models
    from services.retrieval.ingest import ingest
    from services.retrieval.sample_data import write_sample_dataset

    work = Path(tempfile.mkdtemp(prefix="batik-bench-"))
    models = build_tiny_models(work / "models")
    images, workbook = write_sample_dataset(work / "data")
    ingest(images, workbook, work / "index", model_source=str(models["clip"]), progress=False)
    redis_url = launcher.redis_url_if_running()
    ports = {n: _free_port() for n in ("gateway", "retrieval", "captioning", "generation")}
    services = launcher.stack(
        clip=str(models["clip"]),
        blip2=str(models["blip2"]),
        sd=str(models["sd"]),
        index_dir=work / "index",
        redis_url=redis_url,
        ports=ports,
        extra_env={
            "OMP_NUM_THREADS": "1",
            "RETRIEVAL_TORCH_THREADS": "1",
            "CAPTIONING_TORCH_THREADS": "1",
            "GENERATION_TORCH_THREADS": "1",
            "GATEWAY_GENERATION_SIZE": "64",
            "GATEWAY_LOG_LEVEL": "WARNING",
            "RETRIEVAL_LOG_LEVEL": "WARNING",
            "CAPTIONING_LOG_LEVEL": "WARNING",
            "GENERATION_LOG_LEVEL": "WARNING",
        },
    )
    for service in services:
        service.start(dict(os.environ), work / "logs")
    try:
        launcher.wait_ready(services, deadline_s=240)
        gateway = f"http://127.0.0.1:{ports['gateway']}"
        retrieval = f"http://127.0.0.1:{ports['retrieval']}"
        print(f"tiny models, 64 px images, 10 steps; cache: {redis_url or 'in-process LRU'}\n")
        flow = {"steps": 10, "strength": 0.5}
        with httpx.Client(timeout=120) as http:
            http.post(f"{gateway}/v1/rag", json={"text": "warm up", "seed": 1, **flow})
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
        print(
            f"\nratios: miss / hit = {miss / hit:.1f}x   "
            f"rag(generate=false) / search = {no_generation / search:.1f}x   "
            f"miss / rag(generate=false) = {miss / no_generation:.1f}x"
        )
    finally:
        for service in services:
            service.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
