"""Shared fixtures: tiny models and indexes are built once per test session.

Two threads per process on two shared cores can make one tiny model call 50x slower, so every test
process (and every service process the e2e tests start) runs torch with one thread.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import time
from pathlib import Path

import pytest

from tests.helpers import SHARED_SAMPLE, SHARED_SAMPLE_IMAGES, SHARED_SAMPLE_WORKBOOK


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread():
    import torch

    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> dict[str, Path]:
    from services.common.tiny import build_tiny_models

    return build_tiny_models(tmp_path_factory.mktemp("tiny-models"))


@pytest.fixture(scope="session")
def real_config_models(tmp_path_factory) -> dict[str, Path]:
    """Tiny-width models built from the real hub configurations (tests/fixtures/real_configs): the
    real token ids, image sizes, query tokens and vocabularies, and CLIP's real BPE vocabulary."""
    from services.common.fullsize.blip2 import build_blip2
    from services.common.fullsize.clip import build_clip, write_real_clip_tokenizer
    from services.common.fullsize.multilingual import build_multilingual

    root = tmp_path_factory.mktemp("real-config-models")
    return {
        "clip": build_clip(root / "clip", tiny=True),
        "blip2": build_blip2(root / "blip2", tiny=True),
        "clip_tokenizer": write_real_clip_tokenizer(root / "clip-tokenizer"),
        "multilingual": build_multilingual(root / "multilingual"),
    }


@pytest.fixture(scope="session")
def real_config_sd(tmp_path_factory) -> dict[str, Path]:
    """SD 1.5 and its Canny ControlNet from the published hub configs, at a tiny width (random
    weights, hub layout): the real scaling factor, latent channels, token ids and scheduler."""
    from services.common.fullsize.sd import build_controlnet_canny, build_sd15

    out = tmp_path_factory.mktemp("real-config-sd")
    return {
        "sd": build_sd15(out / "sd", tiny=True),
        "controlnet": build_controlnet_canny(out / "controlnet", tiny=True),
    }


@pytest.fixture(scope="session")
def synthetic_dataset(tmp_path_factory) -> tuple[Path, Path]:
    from services.retrieval.sample_data import write_sample_dataset

    return write_sample_dataset(tmp_path_factory.mktemp("synthetic"), instances=2, size=96)


@pytest.fixture(scope="session")
def shared_sample() -> tuple[Path, Path]:
    if not SHARED_SAMPLE.is_dir():
        pytest.skip(f"the shared Batik Nitik sample is not at {SHARED_SAMPLE}")
    return SHARED_SAMPLE_IMAGES, SHARED_SAMPLE_WORKBOOK


@pytest.fixture(scope="session")
def synthetic_index(tmp_path_factory, tiny_models, synthetic_dataset) -> Path:
    """A small index (6 motifs x 2 photos x 4 rotations) on the tiny CLIP."""
    from services.retrieval.ingest import ingest

    out = tmp_path_factory.mktemp("indexes") / "synthetic"
    images, workbook = synthetic_dataset
    ingest(images, workbook, out, model_source=str(tiny_models["clip"]), progress=False)
    return out


def wait_ready(client, deadline_s: float = 60.0) -> None:
    """Poll /readyz of a TestClient app until it answers 200."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        answer = client.get("/readyz")
        if answer.status_code == 200:
            return
        if "loading failed" in answer.text:
            raise AssertionError(answer.json())
        time.sleep(0.05)
    raise AssertionError(f"not ready after {deadline_s} s")


@pytest.fixture(scope="session")
def redis_server():
    from tests.helpers import RedisServer

    server = RedisServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def shared_index(tmp_path_factory, tiny_models, shared_sample) -> Path:
    """The shared Batik Nitik sample (240 images, 60 motifs) indexed with the tiny CLIP."""
    from services.retrieval.ingest import ingest

    out = tmp_path_factory.mktemp("indexes") / "shared"
    images, workbook = shared_sample
    ingest(images, workbook, out, model_source=str(tiny_models["clip"]), progress=False)
    return out


@pytest.fixture(scope="session")
def postgres_server():
    from tests.helpers import PostgresServer

    server = PostgresServer().start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def library_db_url(request, tmp_path) -> str:
    """An empty database for the library, on SQLite and on a real PostgreSQL (never skipped)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/library.sqlite3"
        return
    server = request.getfixturevalue("postgres_server")
    url = server.new_database()
    yield url
    server.drop_database(url)
