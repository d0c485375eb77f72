"""docker/*.Dockerfile: hadolint, then our own rules (hadolint can't know them)."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.deploy.helpers import HF_HOME, MODEL_SERVICES, PORTS, REPO, run, tool

SERVICE_IMAGES = (*MODEL_SERVICES, "gateway", "library", "dashboard")
JOB_IMAGES = ("train",)  # one-shot jobs (the fine-tuning ones): no port, no server
IMAGES = (*SERVICE_IMAGES, *JOB_IMAGES)
CUDA_IMAGES = (*MODEL_SERVICES, *JOB_IMAGES)
NO_MODELS = ("dashboard", "library")  # images that never load a model: no HF cache
# A base pinned to a release: a digest, or a tag holding a full x.y.z version.
PINNED = re.compile(r"^[\w./-]+(@sha256:[0-9a-f]{64}|:[\w.-]*\d+\.\d+\.\d+[\w.-]*)$")


@dataclass
class Stage:
    base: str
    alias: str | None = None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def args(self, keyword: str) -> list[str]:
        return [rest for kw, rest in self.instructions if kw == keyword]


def parse(text: str) -> tuple[dict[str, str], list[Stage]]:
    """Global ARG defaults and the stages, with continuation lines joined and comments dropped."""
    joined = re.sub(
        r"\\\n",
        " ",
        "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#")),
    )
    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in joined.splitlines():
        if not line.strip():
            continue
        keyword, _, rest = line.strip().partition(" ")
        keyword, rest = keyword.upper(), rest.strip()
        if keyword == "FROM":
            words = [w for w in rest.split() if not w.startswith("--")]
            base = re.sub(r"\$\{?(\w+)\}?", lambda m: global_args.get(m[1], m[0]), words[0])
            alias = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stages.append(Stage(base, alias))
        elif stages:
            stages[-1].instructions.append((keyword, rest))
        elif keyword == "ARG" and "=" in rest:
            name, _, default = rest.partition("=")
            global_args[name] = default
    return global_args, stages


def violations(text: str, *, port: int | None, health_path: str, needs_hf_home: bool) -> list[str]:
    """Our rules for an image; `port` None for a job image. An empty list means it passes."""
    _, stages = parse(text)
    if not stages:
        return ["no FROM"]
    problems = []
    if len(stages) < 2:
        problems.append("not multi-stage")
    for index, stage in enumerate(stages):
        earlier = {s.alias for s in stages[:index]}  # FROM <an earlier stage> needs no pin
        if stage.base not in earlier and not PINNED.match(stage.base):
            problems.append(f"base image not pinned to a release: {stage.base}")
    final = stages[-1]
    users = final.args("USER")
    if not users or users[-1].split(":")[0] in ("root", "0"):
        problems.append("final stage does not switch to a non-root USER")
    elif not users[-1].split(":")[0].isdigit():
        problems.append("USER should be numeric so that runAsNonRoot can verify it")
    health = " ".join(final.args("HEALTHCHECK"))
    cmd = final.args("CMD")
    if port is None:
        # A job exits when it is done: Compose and Kubernetes watch its status, not a probe.
        if health or final.args("EXPOSE"):
            problems.append("a job image has a HEALTHCHECK or EXPOSEs a port")
        if not cmd or not json.loads(cmd[-1]):
            problems.append("no exec-form CMD")
    else:
        if f"http://127.0.0.1:{port}{health_path}" not in health:
            problems.append(f"no HEALTHCHECK on {health_path} at port {port}")
        if str(port) not in final.args("EXPOSE"):
            problems.append(f"does not EXPOSE {port}")
        if not cmd or str(port) not in json.loads(cmd[-1]):
            problems.append(f"CMD does not listen on {port}")
    if not any("--from=" in c for c in final.args("COPY")):
        problems.append("final stage copies nothing from a build stage")
    if needs_hf_home:
        env = " ".join(final.args("ENV"))
        if f"HF_HOME={HF_HOME}" not in env:
            problems.append(f"HF_HOME is not {HF_HOME}")
        if not any(HF_HOME in v for v in final.args("VOLUME")):
            problems.append("HF_HOME is not a VOLUME")
    return problems


def dockerfile(name: str) -> Path:
    return REPO / "docker" / f"{name}.Dockerfile"


@pytest.mark.parametrize("name", IMAGES)
def test_hadolint_passes(name):
    result = run([tool("hadolint"), str(dockerfile(name))], check=False)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", IMAGES)
def test_dockerfile_follows_our_rules(name):
    problems = violations(
        dockerfile(name).read_text(),
        port=PORTS.get(name),
        health_path="/_stcore/health" if name == "dashboard" else "/healthz",
        needs_hf_home=name not in NO_MODELS,
    )
    assert problems == []


@pytest.mark.parametrize("name", CUDA_IMAGES)
def test_model_images_install_a_cuda_torch_not_the_cpu_constraints(name):
    text = dockerfile(name).read_text()
    global_args, stages = parse(text)
    assert global_args["BASE_IMAGE"].startswith("nvidia/cuda:")
    cuda_major = re.match(r"nvidia/cuda:(\d+)\.(\d+)", global_args["BASE_IMAGE"]).groups()
    # The wheel index's CUDA version matches the base image's (cu130 <-> 13.0).
    assert re.search(rf"ARG TORCH_INDEX_URL=\S+/cu{''.join(cuda_major)}\b", text)
    # constraints.txt pins the CPU wheel of the dev machines: never in a CUDA image.
    instructions = " ".join(rest for stage in stages for _, rest in stage.instructions)
    assert "constraints.txt" not in instructions.replace("torch-constraint.txt", "")
    assert (
        'pip install --extra-index-url "${TORCH_INDEX_URL}" "torch==${TORCH_VERSION}"'
        in instructions
    )


@pytest.mark.parametrize("name", IMAGES)
def test_image_installs_its_dependencies_from_the_lock(name):
    """requirements/<image>.txt (`make lock`) drives the install; the project adds no dependency."""
    _, stages = parse(dockerfile(name).read_text())
    runs = [rest for stage in stages for kw, rest in stage.instructions if kw == "RUN"]
    lock = f"requirements/{name}.txt"
    assert (REPO / lock).is_file(), f"{lock} is missing: run `make lock`"
    assert any("pip install" in r and f"-r {lock}" in r for r in runs), (
        f"no `pip install -r {lock}`"
    )
    # Our own package goes in with --no-deps, so nothing unlocked comes with it.
    project_installs = [r for r in runs if re.search(r"pip install [^&]*\s\.(\s|$)", r)]
    assert project_installs and all("--no-deps" in r for r in project_installs), project_installs
    # No extra named in brackets: pip would resolve it afresh instead of reading the lock.
    assert not any(re.search(r"\.\[\w+\]", r) for r in runs), runs


@pytest.mark.parametrize("name", SERVICE_IMAGES)
def test_image_runs_the_module_compose_and_k8s_expect(name):
    _, stages = parse(dockerfile(name).read_text())
    cmd = json.loads(stages[-1].args("CMD")[-1])
    if name == "dashboard":
        assert cmd[:3] == ["streamlit", "run", "/app/dashboard/app.py"]
    else:
        module = "gateway.app:app" if name == "gateway" else f"services.{name}.app:app"
        assert cmd[:2] == ["uvicorn", module]
        assert cmd[cmd.index("--host") + 1] == "0.0.0.0"


@pytest.mark.parametrize("name", [n for n in SERVICE_IMAGES if n != "dashboard"])
def test_image_starts_uvicorn_with_the_services_limits(name):
    """Issue 16, finding 10: concurrency, backlog and keep-alive as services/common/server_limits.py
    says (the launcher passes the same), not uvicorn's unbounded defaults."""
    from services.common.server_limits import LIMITS

    _, stages = parse(dockerfile(name).read_text())
    cmd = json.loads(stages[-1].args("CMD")[-1])
    expected = LIMITS[name].args()
    flags = expected[::2]
    given = {flag: cmd[cmd.index(flag) + 1] for flag in flags if flag in cmd}
    assert given == dict(zip(flags, expected[1::2], strict=True))


def test_training_image_checks_the_jobs_at_build_time():
    """The jobs import FAISS, the metrics and diffusers lazily: the build imports them, and runs
    both commands' --help, so a missing module fails `docker build`, not the job."""
    _, stages = parse(dockerfile("train").read_text())
    runs = " ".join(rest for stage in stages for kw, rest in stage.instructions if kw == "RUN")
    for module in ("faiss", "sacrebleu", "rouge_score", "matplotlib", "diffusers", "peft"):
        assert re.search(rf"python -c \"import [^\"]*\b{module}\b", runs), module
    for command in ("batik finetune --help", "batik finetune-style --help"):
        assert command in runs, command
    assert json.loads(stages[-1].args("CMD")[-1])[0] == "batik"
    # where the jobs write, owned by the image's user (compose mounts fresh volumes there)
    assert "/data/adapters /data/styles" in " ".join(stages[-1].args("RUN"))


def test_the_rules_catch_a_bad_dockerfile():
    bad = 'FROM python:3.12\nRUN pip install x\nCMD ["uvicorn", "app"]\n'
    problems = violations(bad, port=8000, health_path="/healthz", needs_hf_home=True)
    for expected in (
        "not multi-stage",
        "not pinned",
        "non-root",
        "HEALTHCHECK",
        "EXPOSE",
        "CMD",
        "copies nothing",
        "HF_HOME is not /cache",
        "not a VOLUME",
    ):
        assert any(expected in p for p in problems), (expected, problems)
    root = dockerfile("gateway").read_text().replace("USER 10001:10001", "USER root")
    assert violations(root, port=8000, health_path="/healthz", needs_hf_home=True) == [
        "final stage does not switch to a non-root USER"
    ]
    served = dockerfile("train").read_text() + "EXPOSE 8000\n"
    assert violations(served, port=None, health_path="", needs_hf_home=True) == [
        "a job image has a HEALTHCHECK or EXPOSEs a port"
    ]
    latest = dockerfile("gateway").read_text().replace("3.12.12-slim-bookworm", "latest")
    assert any(
        "not pinned" in p
        for p in violations(latest, port=8000, health_path="/healthz", needs_hf_home=True)
    )


def test_dockerignore_keeps_secrets_and_data_out_but_lets_the_sources_in():
    patterns = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for needed in (".env", ".git", ".venv", "data", "tests"):
        assert needed in patterns, needed
    copied = {
        w
        for name in IMAGES
        for line in dockerfile(name).read_text().splitlines()
        if line.startswith("COPY") and "--from" not in line
        for w in shlex.split(line)[1:-1]
        if not w.startswith("--")
    }
    for source in copied:
        top = source.split("/")[0]
        assert top not in patterns and source not in patterns, f"{source} is copied but ignored"
        assert (REPO / source).exists(), f"{source} is copied but missing from the repository"


def test_dashboard_upload_box_takes_what_the_gateway_takes():
    from gateway.config import GatewaySettings
    from services.launcher import streamlit_upload_mb

    env = " ".join(parse(dockerfile("dashboard").read_text())[1][-1].args("ENV"))
    limit = re.search(r"STREAMLIT_SERVER_MAX_UPLOAD_SIZE=(\d+)", env)
    assert limit, "the dashboard image keeps Streamlit's 200 MB upload limit"
    default = GatewaySettings.model_fields["max_upload_bytes"].default
    assert int(limit[1]) == streamlit_upload_mb(default)


def test_gateway_trusts_forwarded_headers_only_from_configured_proxies():
    """Issue 16, finding 10: `--forwarded-allow-ips *` let any client pick its rate-limit bucket."""
    text = dockerfile("gateway").read_text()
    assert "--forwarded-allow-ips" not in text and '"*"' not in text
    assert "ENV FORWARDED_ALLOW_IPS=127.0.0.1" in text
