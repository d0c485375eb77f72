"""What `response_format: url` saves: the bytes of one answer with its images inline (base64) and
with signed URLs instead, on the tiny-model stack (five real processes, a private Redis) generating
at the size the gateway serves by default (512 px).

Three answers, each asked in both formats: a saved `/v1/rag` (its URL points at the design), an
unsaved one with its 3x3 preview (URLs to the gateway's cache), and a finished job polled with
`GET /v1/jobs/{id}` (URLs to the job record). Printed: the bytes of each and their ratio. Bytes, not
time: the figure does not depend on the machine.

    python -m benchmarks.image_urls
"""

from __future__ import annotations

import time

import httpx

from benchmarks.serving import tiny_stack


def main() -> int:
    flow = {"text": "sekar bunga", "steps": 2, "strength": 0.5}
    env = {"GATEWAY_GENERATION_SIZE": "512", "GATEWAY_URL_SECRET": "bench"}
    rows = []
    with tiny_stack(env, library=True) as urls, httpx.Client(timeout=300) as http:
        gateway = urls["gateway"]

        def both(path: str, body: dict | None = None) -> tuple[int, int]:
            sizes = []
            for response_format in ("b64_json", "url"):
                if body is None:  # a job: the same record, asked in either format
                    answer = http.get(f"{gateway}{path}?response_format={response_format}")
                else:
                    answer = http.post(
                        f"{gateway}{path}", json={**body, "response_format": response_format}
                    )
                answer.raise_for_status()
                sizes.append(len(answer.content))
            return sizes[0], sizes[1]

        rows.append(("/v1/rag, saved", *both("/v1/rag", {**flow, "seed": 1})))
        unsaved = {**flow, "seed": 2, "save": False, "preview_repeat": True}
        rows.append(("/v1/rag, unsaved, with preview", *both("/v1/rag", unsaved)))
        job = http.post(f"{gateway}/v1/jobs", json={**flow, "seed": 3}).json()
        while http.get(f"{gateway}{job['status_url']}").json()["state"] in ("queued", "running"):
            time.sleep(0.5)
        rows.append(("GET /v1/jobs/{id}, finished", *both(job["status_url"])))
    print("| answer | b64_json | url | ratio |\n|---|---|---|---|")
    for name, inline, by_url in rows:
        print(f"| {name} | {inline:,} B | {by_url:,} B | {inline / by_url:.0f}x |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
