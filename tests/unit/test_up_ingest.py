"""`batik up` builds its index in a child process, so the ingest's CUDA context and cached GPU memory
are gone before the three model services start: the parent never imports torch."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.helpers import REPO_ROOT

PARENT = """
import json, sys
from pathlib import Path
from services import launcher

index = launcher.prepare_index(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), model=sys.argv[4])
print(json.dumps({"index": str(index), "torch_in_parent": "torch" in sys.modules}))
"""


def test_the_index_is_built_by_a_child_and_the_parent_never_loads_torch(
    tmp_path, synthetic_dataset, tiny_models
):
    from services.retrieval.index import MotifIndex

    images, workbook = synthetic_dataset
    index_dir = tmp_path / "index"
    args = [str(index_dir), str(images), str(workbook), str(tiny_models["clip"])]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        [sys.executable, "-c", PARENT, *args],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer == {"index": str(index_dir), "torch_in_parent": False}
    assert len(MotifIndex(index_dir).items) == 48  # the child's ingest wrote a whole index


def test_an_existing_index_is_served_as_it_is(tmp_path, synthetic_index, monkeypatch):
    from services import launcher

    def no_child(*args, **kwargs):
        raise AssertionError("no ingest for an index that exists")

    monkeypatch.setattr(launcher, "ingest_in_child", no_child)
    missing = tmp_path / "none"
    assert launcher.prepare_index(synthetic_index, missing, missing, model="x") == synthetic_index


def test_a_failed_child_ingest_is_an_error(tmp_path):
    import pytest

    from services import launcher

    with pytest.raises(RuntimeError, match="ingest failed"):
        launcher.ingest_in_child(
            tmp_path / "no-images", tmp_path / "no.xlsx", tmp_path / "i", model="x"
        )
