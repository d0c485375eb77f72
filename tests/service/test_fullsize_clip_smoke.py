"""Full-size CLIP ViT-B/32 (marker `slow`): the real architecture from the published configuration,
random weights, OpenAI's BPE vocabulary, saved in the hub layout; `batik ingest` indexes the shared
sample with it and the retrieval service answers one search. Nothing is downloaded.

It prints its time and peak memory (docs/BENCHMARKS.md keeps the figures); it asserts neither.
"""

from __future__ import annotations

import json
import resource
import time

import numpy as np
import pytest
from fastapi.testclient import TestClient

from tests.conftest import wait_ready

pytestmark = pytest.mark.slow


def test_full_size_clip_ingests_the_shared_sample_and_searches(tmp_path, shared_sample, capsys):
    from services.cli import main
    from services.common.fullsize.clip import build_clip
    from services.retrieval.app import create_app
    from services.retrieval.config import RetrievalSettings
    from services.retrieval.index import MotifIndex

    started = time.perf_counter()
    model = build_clip(tmp_path / "clip-vit-base-patch32", tiny=False)
    built = time.perf_counter()
    config = json.loads((model / "config.json").read_text())
    assert config["vision_config"]["hidden_size"] == 768 and config["projection_dim"] == 512
    assert (model / "model.safetensors").stat().st_size > 500e6  # 151 M fp32 parameters

    images, workbook = shared_sample
    index_dir = tmp_path / "index"
    code = main(
        [
            "ingest",
            "--images", str(images),
            "--metadata", str(workbook),
            "--out", str(index_dir),
            "--model", str(model),
            "--device", "cpu",
        ]
    )  # fmt: skip
    assert code == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    index = MotifIndex(index_dir)
    assert summary["indexed"] == len(index.items) == 240 and summary["motifs"] == 60
    assert index.index.d == 512
    ingested = time.perf_counter()

    settings = RetrievalSettings(model=str(model), index_dir=str(index_dir))
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        wait_ready(client, deadline_s=300)
        answer = client.post(
            "/v1/search", json={"text": "a brown flower batik", "top_k": 5, "lexical_weight": 0}
        )
    assert answer.status_code == 200, answer.text
    hits = answer.json()["hits"]
    assert len(hits) == 5
    scores = [h["score"] for h in hits]
    assert scores == sorted(scores, reverse=True) and all(-1 <= s <= 1 for s in scores)
    vectors = np.stack([index.index.reconstruct(i) for i in range(3)])
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    done = time.perf_counter()

    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with capsys.disabled():
        print(
            f"\nfull-size CLIP smoke: build {built - started:.1f} s, ingest 240 images "
            f"{ingested - built:.1f} s, service start + search {done - ingested:.1f} s, "
            f"total {done - started:.1f} s, peak RSS {peak_mib:.0f} MiB"
        )
