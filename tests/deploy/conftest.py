"""Fixtures for the deployment checks: resolved Compose files and rendered overlays, once a session."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.helpers import REPO, compose_config, kustomize, write_env


@pytest.fixture(scope="session")
def test_env_file(tmp_path_factory) -> Path:
    # GATEWAY_API_KEYS and POSTGRES_PASSWORD are required by the compose file; dummies stand in.
    return write_env(
        tmp_path_factory.mktemp("env") / "test.env",
        {"GATEWAY_API_KEYS": "sha256:" + "ab" * 32, "POSTGRES_PASSWORD": "test-password"},
    )


@pytest.fixture(scope="session")
def compose_gpu(test_env_file) -> dict[str, Any]:
    return yaml.safe_load(compose_config([REPO / "docker-compose.yml"], test_env_file).stdout)


@pytest.fixture(scope="session")
def rendered() -> dict[str, list[dict[str, Any]]]:
    return {overlay: kustomize(overlay) for overlay in ("dev", "gpu")}
