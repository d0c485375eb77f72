"""Each one-shot job (Compose and k8s) runs in an image whose lock holds what the job's command imports.

A job's command needs the distributions of one extra of pyproject.toml (`batik finetune` reads an
index: FAISS, scores BLEU / ROUGE, plots its loss); its image installs exactly one lock,
requirements/<name>.txt, named in its Dockerfile. When the lock lacks a distribution of the extra,
the job fails at import on a real deployment, which no service test sees: the fine-tuning jobs ran
in the captioning image this way (no faiss) until the training image.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.captioning.finetune.report import LOSS_CURVE_FILE, REPORT_FILE
from tests.deploy.helpers import REPO, clean_env, compose_config, kustomize, mounts
from tests.deploy.test_deploy_dockerfiles import dockerfile, parse
from tests.unit.test_lock import OWN_TORCH, declared, locked

# The extra each job command needs (pyproject.toml says why each extra holds what it holds). A new
# job must be added here, or the tests below fail on it.
COMMAND_EXTRAS = {
    ("batik-publish-index",): "retrieval",  # `batik ingest` and the replicas' reload
    ("batik", "ingest"): "retrieval",
    ("batik", "finetune"): "finetune",
    ("batik", "finetune-style"): "finetune",
    ("batik", "db"): "library",
}
COMPOSE_FILES = [REPO / "docker-compose.yml"]


def extra_of(command: list[str]) -> str:
    for prefix, extra in COMMAND_EXTRAS.items():
        if tuple(command[: len(prefix)]) == prefix:
            return extra
    pytest.fail(f"no extra known for the job command {command}: add it to COMMAND_EXTRAS")


def image_name(reference: str) -> str:
    """`registry/batik/train:0.1.0-cpu` -> `train`: the Dockerfile is docker/<name>.Dockerfile."""
    return reference.rsplit("/", 1)[-1].split(":")[0].split("@")[0]


def lock_of(name: str) -> str:
    """The lock docker/<name>.Dockerfile installs (`pip install ... -r requirements/X.txt`)."""
    path = dockerfile(name)
    assert path.is_file(), f"no {path.relative_to(REPO)} for the image {name}"
    _, stages = parse(path.read_text())
    locks = {
        m[1]
        for stage in stages
        for keyword, rest in stage.instructions
        if keyword == "RUN" and "pip install" in rest
        for m in re.finditer(r"-r requirements/([\w-]+)\.txt", rest)
    }
    assert len(locks) == 1, f"{path.name} installs {sorted(locks) or 'no lock'}"
    return locks.pop()


def missing(extra: str, lock: str) -> set[str]:
    """Distributions an install of `.[extra]` needs that requirements/<lock>.txt does not pin."""
    needed = set(declared(extra)[0]) - OWN_TORCH  # each image installs its own torch build
    return needed - set(locked(lock))


def lock_gap(job: str, command: list[str], reference: str) -> str:
    """Why `command` would fail at import in the image `reference`; empty when its lock suffices."""
    extra, image = extra_of(command), image_name(reference)
    lock = lock_of(image)
    gap = missing(extra, lock)
    if not gap:
        return ""
    return (
        f"{job} runs `{' '.join(command[:2])}` (extra {extra}) in the {image} image, whose "
        f"requirements/{lock}.txt lacks {sorted(gap)}"
    )


def compose_jobs(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: service
        for name, service in compose["services"].items()
        if "jobs" in (service.get("profiles") or ())
    }


def k8s_jobs(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        d["metadata"]["name"]: d["spec"]["template"]["spec"]["containers"][0]
        for d in docs
        if d["kind"] == "Job"
    }


def test_there_are_jobs_to_check(compose_gpu, rendered):
    assert {"ingest", "finetune", "finetune-style"} <= set(compose_jobs(compose_gpu))
    assert {"batik-ingest", "batik-finetune", "batik-finetune-style", "batik-db-migrate"} <= set(
        k8s_jobs(rendered["gpu"])
    )


def test_every_compose_job_runs_an_image_whose_lock_holds_its_extra(compose_gpu):
    for name, job in compose_jobs(compose_gpu).items():
        assert not lock_gap(f"compose job {name}", job["command"], job["image"])


def test_compose_builds_each_job_image_from_its_own_dockerfile(compose_gpu):
    """A job's image is the one of the Dockerfile named after it, whoever builds it."""
    builders: dict[str, set[str]] = {}
    for service in compose_gpu["services"].values():
        if "build" in service:
            builders.setdefault(image_name(service["image"]), set()).add(
                service["build"]["dockerfile"]
            )
    for name, job in compose_jobs(compose_gpu).items():
        image = image_name(job["image"])
        assert builders.get(image) == {f"docker/{image}.Dockerfile"}, (name, builders.get(image))


def test_our_images_own_every_named_volume_they_mount(compose_gpu):
    """Docker gives a new named volume the owner of the mount point in the first image that mounts
    it: if that image lacks the folder, the volume is root's and a job (UID 10001) can't write it."""
    for name, service in compose_gpu["services"].items():
        path = dockerfile(image_name(service["image"]))
        if not path.is_file():
            continue  # redis, postgres: their own images
        _, stages = parse(path.read_text())
        runtime = " ".join(stages[-1].args("RUN"))
        for target, mount in mounts(service).items():
            if mount["type"] == "volume":
                assert re.search(rf"mkdir -p [^&]*{re.escape(target)}(\s|$)", runtime), (
                    f"{name}: {path.name} does not create {target}"
                )
                assert "chown -R 10001:10001" in runtime, name


@pytest.mark.parametrize("overlay", ["dev", "gpu", "one-gpu"])
def test_every_k8s_job_runs_an_image_whose_lock_holds_its_extra(rendered, overlay):
    docs = rendered[overlay] if overlay in rendered else kustomize(overlay)
    for name, container in k8s_jobs(docs).items():
        assert not lock_gap(f"{overlay}: Job {name}", container["command"], container["image"])


def test_cpu_override_keeps_each_job_on_an_image_of_the_same_dockerfile(test_env_file, tmp_path):
    """docker-compose.cpu.yml retags the job images (`-cpu`): same name, so the same lock."""
    text = (REPO / "docker-compose.cpu.yml").read_text().replace("!reset []", "[]")
    override = tmp_path / "cpu.yml"
    override.write_text(text)
    config = yaml.safe_load(compose_config([*COMPOSE_FILES, override], test_env_file).stdout)
    for name, job in compose_jobs(config).items():
        assert job["image"].endswith("-cpu"), name
        assert not lock_gap(f"compose job {name} (CPU)", job["command"], job["image"])


def test_the_check_catches_the_fine_tuning_jobs_in_the_captioning_image():
    """What the check said of the deployments before the training image: the captioning lock has
    no FAISS, metrics or plotting, and no diffusers for the style job."""
    assert lock_of("captioning") == "captioning"
    assert {"faiss-cpu", "sacrebleu", "rouge-score", "matplotlib", "diffusers"} <= missing(
        extra_of(["batik", "finetune-style"]), "captioning"
    )
    gap = lock_gap("finetune", ["batik", "finetune"], "batik/captioning:0.1.0")
    assert "requirements/captioning.txt lacks" in gap and "'faiss-cpu'" in gap
    assert not missing("finetune", lock_of("train"))
    assert not missing("retrieval", lock_of("retrieval"))


# Runs `batik ARGS` with only the distributions pinned by one lock importable (torch, which every
# image installs first, the standard library and this project besides): what the job would find in
# the image. argv: LOCK ARGS...
ONLY_THE_LOCK = """
import re, sys
from importlib.metadata import packages_distributions
from packaging.utils import canonicalize_name

lock, *args = sys.argv[1:]
pinned = {canonicalize_name(m[1]) for line in open(lock)
          if (m := re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==", line))}
allowed = pinned | {"torch", "batik-nitik-rag"}
owners = packages_distributions()

class OnlyTheLock:
    # Wraps each finder: a module of a distribution outside the lock is not found, as in the
    # image (import raises ModuleNotFoundError, importlib.util.find_spec answers None).
    def __init__(self, finder):
        self.finder = finder

    def find_spec(self, name, path=None, target=None):
        dists = owners.get(name.split(".")[0])
        if dists and not any(canonicalize_name(d) in allowed for d in dists):
            return None
        return self.finder.find_spec(name, path, target)

    def __getattr__(self, attribute):
        return getattr(self.finder, attribute)

sys.meta_path[:] = [OnlyTheLock(finder) for finder in sys.meta_path]
from services.cli import main
sys.exit(main(args))
"""


def run_with_only(lock: str, args: list[str]) -> subprocess.CompletedProcess:
    env = {**clean_env(), "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-c", ONLY_THE_LOCK, str(REPO / "requirements" / f"{lock}.txt"), *args],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip


def job_arguments(command: str, index: Path, out: Path, models: dict[str, Path]) -> list[str]:
    """The deployments' command (`--index`, `--out`) on the tiny models, a few steps long."""
    if command == "finetune":
        return [
            "finetune", "--index", str(index), "--out", str(out), "--model", str(models["blip2"]),
            "--epochs", "1", "--limit", "4", "--max-target-tokens", "8", "--max-new-tokens", "4",
            "--device", "cpu", "--no-progress",
        ]  # fmt: skip
    return [
        "finetune-style", "--index", str(index), "--out", str(out), "--model", str(models["sd"]),
        "--steps", "2", "--rank", "4", "--batch-size", "2", "--resolution", "64",
        "--validation-steps", "2", "--device", "cpu", "--no-progress",
    ]  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("command", ["finetune", "finetune-style"])
def test_fine_tuning_jobs_run_to_the_end_on_the_training_lock_alone(
    command, tmp_path, synthetic_index, tiny_models
):
    """The whole job (data, training, metrics, plot, output) with only requirements/train.txt
    importable; the captioning lock fails the same run at its first lazy import."""
    out = tmp_path / "nitik"
    result = run_with_only("train", job_arguments(command, synthetic_index, out, tiny_models))
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    assert json.loads(result.stdout.strip().splitlines()[-1])  # the run's summary
    # the report scores the run (sacrebleu, rouge-score for the adapter) and plots it (matplotlib)
    assert (out / REPORT_FILE).is_file() and (out / LOSS_CURVE_FILE).is_file(), sorted(
        out.iterdir()
    )
    before = run_with_only(
        "captioning", job_arguments(command, synthetic_index, tmp_path / "x", tiny_models)
    )
    assert before.returncode != 0
    assert "ModuleNotFoundError: No module named 'faiss'" in before.stderr, before.stderr[-2000:]
