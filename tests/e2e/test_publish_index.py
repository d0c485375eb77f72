"""docker/bin/batik-publish-index against the real thing: `batik ingest` on the tiny CLIP and a
retrieval replica (a uvicorn process) that swaps to the new version through /v1/index/reload."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
import pytest

from services.launcher import ServiceProcess, wait_ready
from tests.helpers import REPO_ROOT, free_port

pytestmark = pytest.mark.e2e
TOKEN = "publish-test-token"


def publish(root, tiny_models, images, workbook, version, *extra_env, keep=3):
    # The real CLI, through a two-line launcher: the script runs `$BATIK_BIN ingest ...`.
    batik = root.parent / "batik"
    batik.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m services.cli "$@"\n')
    batik.chmod(0o755)
    env = {
        **os.environ,
        "INDEX_ROOT": str(root),
        "BATIK_BIN": str(batik),
        "RETRIEVAL_ADMIN_TOKEN": TOKEN,
        "PYTHONPATH": str(REPO_ROOT),
        **dict(extra_env),
    }
    return subprocess.run(
        [sys.executable, str(REPO_ROOT / "docker/bin/batik-publish-index"), "--version", version,
         "--keep", str(keep), "--", "--images", str(images), "--metadata", str(workbook),
         "--model", str(tiny_models["clip"])],
        env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_a_published_version_reaches_the_running_replica(tmp_path, tiny_models, synthetic_dataset):
    from services.retrieval.sample_data import write_sample_dataset

    images, workbook = synthetic_dataset
    root = tmp_path / "index"
    first = publish(root, tiny_models, images, workbook, "v1")
    assert first.returncode == 0, first.stderr
    assert os.readlink(root / "current") == "v1"

    replica = ServiceProcess(
        "retrieval",
        "services.retrieval.app:app",
        free_port(),
        {
            "RETRIEVAL_MODEL": str(tiny_models["clip"]),
            "RETRIEVAL_INDEX_DIR": str(root / "current"),
            "RETRIEVAL_ADMIN_TOKEN": TOKEN,
            "RETRIEVAL_TORCH_THREADS": "1",
            "OMP_NUM_THREADS": "1",
        },
    )
    replica.start(dict(os.environ), tmp_path / "logs")
    try:
        wait_ready([replica], deadline_s=120)
        before = httpx.get(f"{replica.url}/v1/index").json()
        assert before["size"] == 48

        # A smaller collection (one photo per motif) as the next version.
        smaller_images, smaller_workbook = write_sample_dataset(tmp_path / "smaller", instances=1)
        second = publish(
            root, tiny_models, smaller_images, smaller_workbook, "v2",
            ("RELOAD_URLS", replica.url), keep=1,
        )  # fmt: skip
        assert second.returncode == 0, second.stderr
        after = httpx.get(f"{replica.url}/v1/index").json()
        assert after["size"] == 24 and after["version"] != before["version"]
        assert os.readlink(root / "current") == "v2"
        assert not (root / "v1").exists()  # pruned: only the newest --keep 1 stays
        hits = httpx.post(f"{replica.url}/v1/search", json={"text": "kawung"}).json()["hits"]
        assert all(hit["instance"] == 1 for hit in hits)

        # A replica that refuses (wrong token) leaves the job failing with 2, the old index serving.
        third = publish(
            root, tiny_models, images, workbook, "v3",
            ("RELOAD_URLS", replica.url), ("RETRIEVAL_ADMIN_TOKEN", "wrong"),
        )  # fmt: skip
        assert third.returncode == 2, third.stderr
        assert httpx.get(f"{replica.url}/v1/index").json()["size"] == 24
    finally:
        replica.stop()
