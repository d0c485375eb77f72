"""What saving a design costs a RAG answer: `/v1/rag` with and without `"save": false`, interleaved
in one run on the tiny-model stack (five real processes, the library on SQLite, a private Redis).

Every request is a cache miss (its own seed), so both arms run the whole flow; the `save` arm also
embeds the image through retrieval and stores it in the library (step 8). Printed: each arm's p50 and
p90, the difference of the p50s, and the p50 of the `library` stage the answers report (the time
step 8 itself took), which is the cleaner figure on a noisy shared machine.

    python -m benchmarks.library_save [--repeat 40] [--library-dir DIR]

`--library-dir` puts the library's SQLite file and PNGs there (default: the run's temporary
directory on disk). On tmpfs (`/dev/shm/...`) every fsync is free, which shows how much of the save
is the durable writes (the PNG file and its directory, then the SQLite commit, each fsynced).
"""

from __future__ import annotations

import argparse
import statistics

import httpx

from benchmarks.serving import _interleaved, _summary, _timed, tiny_stack


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--library-dir", default=None, help="where the library keeps its data")
    args = parser.parse_args()
    env = {"LIBRARY_LOG_LEVEL": "WARNING"}
    if args.library_dir:
        env["LIBRARY_DIR"] = args.library_dir  # replaces the stack's own
    flow = {"text": "sekar bunga", "steps": 10, "strength": 0.5}
    with tiny_stack(env, library=True) as urls:
        gateway = urls["gateway"]
        stage: list[float] = []
        with httpx.Client(timeout=120) as http:
            for seed in range(3):  # warm up both paths (first PNG, first row, first embed)
                http.post(f"{gateway}/v1/rag", json={**flow, "seed": 10_000 + seed})

            def saved(i: int) -> httpx.Response:
                answer = http.post(f"{gateway}/v1/rag", json={**flow, "seed": 2 * i})
                body = answer.json()
                assert body["designs"] and not body["degraded"], body.get("degraded")
                stage.append(body["timings_ms"]["library"])
                return answer

            def unsaved(i: int) -> httpx.Response:
                answer = http.post(
                    f"{gateway}/v1/rag", json={**flow, "seed": 2 * i + 1, "save": False}
                )
                assert answer.json()["designs"] == []
                return answer

            samples = _interleaved({"save": saved, "nosave": unsaved}, args.repeat)
            # Its two calls alone, straight to the services: embed the image, store the design.
            answer = http.post(f"{gateway}/v1/rag", json={**flow, "seed": 99_999}).json()
            design = http.get(
                f"{urls['library']}/v1/designs/{answer['designs'][0]['id']}",
                headers={"X-Owner-Id": "anonymous"},
            ).json()
            image = answer["images"][0]
            embed = _timed(
                lambda i: http.post(f"{urls['retrieval']}/v1/embed", json={"images": [image]}),
                args.repeat,
            )
            vector = http.post(f"{urls['retrieval']}/v1/embed", json={"images": [image]}).json()
            store = _timed(
                lambda i: http.post(
                    f"{urls['library']}/v1/designs",
                    json={
                        "image_b64": image,
                        "embedding": vector["images"][0],
                        "provenance": design["provenance"],
                    },
                    headers={"X-Owner-Id": "bench"},
                ),
                args.repeat,
            )
        with_save = _summary("/v1/rag miss, save (default)", samples["save"])
        without = _summary('/v1/rag miss, "save": false', samples["nosave"])
        library = _summary("step 8 (library stage) alone", stage)
        _summary("  retrieval POST /v1/embed, 1 image", embed)
        _summary("  library POST /v1/designs", store)
        print(
            f"\nsaving adds {with_save - without:+.2f} ms at p50 to a full answer "
            f"({with_save / without:.3f}x); the save step itself: p50 {library:.2f} ms, "
            f"mean {statistics.fmean(stage):.2f} ms"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
