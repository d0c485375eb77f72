"""docker-compose.yml and docker-compose.cpu.yml, resolved by `docker-compose config`."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.settings_table import COMPOSE_FIXED, SECRET_NAME
from tests.deploy.helpers import (
    HF_HOME,
    MODEL_SERVICES,
    PORTS,
    REPO,
    compose_config,
    mounts,
    networks,
    ports,
    write_env,
)

COMPOSE = REPO / "docker-compose.yml"
CPU_OVERRIDE = REPO / "docker-compose.cpu.yml"
ENV_EXAMPLE = REPO / ".env.example"
UPSTREAMS = (*MODEL_SERVICES, "library", "redis", "redis-jobs")  # what the gateway calls
REQUIRED_SECRETS = {"GATEWAY_API_KEYS", "POSTGRES_PASSWORD"}  # compose refuses to start without
TRAINING_JOBS = ("finetune", "finetune-style")  # in the training image (docker/train.Dockerfile)
JOBS = ("ingest", *TRAINING_JOBS)
GPU_USERS = (*MODEL_SERVICES, *JOBS)

# Settings fixed by the deployment files rather than read from .env (the generator of .env.example
# leaves the same ones out).
FIXED_SETTINGS = COMPOSE_FIXED


def env_example() -> dict[str, str]:
    pairs = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            pairs[name.strip()] = value.strip()
    return pairs


def settings_fields() -> dict[str, set[str]]:
    """Env names of every settings field, read from the config modules' source (no imports)."""

    def fields(path: Path) -> dict[str, tuple[str | None, set[str]]]:
        # class name -> (env prefix, annotated field names)
        classes = {}
        for node in ast.parse(path.read_text()).body:
            if not isinstance(node, ast.ClassDef):
                continue
            names = {
                s.target.id
                for s in node.body
                if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name)
            } - {"model_config"}
            prefix = re.search(
                r'env_prefix\s*=\s*"([A-Z_]+)"',
                ast.get_source_segment(path.read_text(), node) or "",
            )
            classes[node.name] = (prefix.group(1) if prefix else None, names)
        return classes

    common = fields(REPO / "services/common/settings.py")["BaseServiceSettings"][1]
    modules = [REPO / f"services/{s}/config.py" for s in (*MODEL_SERVICES, "library")] + [
        REPO / "gateway/config.py",
        REPO / "dashboard/config.py",
    ]
    result: dict[str, set[str]] = {}
    for module in modules:
        assert module.is_file(), f"{module} is missing"
        for prefix, names in fields(module).values():
            if prefix:
                inherited = common - {"host", "port"}  # the container's command line sets these
                if prefix == "DASHBOARD_":
                    inherited = set()  # not a service: its settings are all its own
                if prefix in ("GATEWAY_", "LIBRARY_"):
                    inherited -= {"device", "dtype", "torch_threads"}  # no model there
                result[prefix] = {f"{prefix}{n.upper()}" for n in (names | inherited) - {"port"}}
    assert set(result) == {
        "RETRIEVAL_",
        "CAPTIONING_",
        "GENERATION_",
        "GATEWAY_",
        "LIBRARY_",
        "DASHBOARD_",
    }, result
    return result


# ---- docker-compose.yml -------------------------------------------------------------------------


def test_compose_resolves_with_every_service(compose_gpu):
    assert set(compose_gpu["services"]) == {
        "redis",
        "redis-jobs",
        *MODEL_SERVICES,
        "gateway",
        "library",
        "postgres",
        "dashboard",
        *JOBS,
    }


@pytest.mark.parametrize("missing", sorted(REQUIRED_SECRETS))
def test_compose_refuses_to_start_without_a_required_secret(tmp_path, missing):
    given = {name: "x" for name in REQUIRED_SECRETS - {missing}}
    result = compose_config([COMPOSE], write_env(tmp_path / "partial.env", given), check=False)
    assert result.returncode != 0
    assert missing in result.stderr


@pytest.mark.parametrize("name", GPU_USERS)
def test_model_services_and_jobs_reserve_an_nvidia_gpu(compose_gpu, name):
    devices = compose_gpu["services"][name]["deploy"]["resources"]["reservations"]["devices"]
    assert len(devices) == 1
    assert devices[0]["driver"] == "nvidia"
    assert "gpu" in devices[0]["capabilities"]


@pytest.mark.parametrize(
    "name", ["gateway", "dashboard", "redis", "redis-jobs", "library", "postgres"]
)
def test_other_services_reserve_no_gpu(compose_gpu, name):
    assert "deploy" not in compose_gpu["services"][name]


def test_gateway_waits_for_healthy_upstreams_and_dashboard_for_gateway(compose_gpu):
    services = compose_gpu["services"]
    assert services["gateway"]["depends_on"] == {
        name: {"condition": "service_healthy"} for name in UPSTREAMS
    }
    assert services["dashboard"]["depends_on"] == {"gateway": {"condition": "service_healthy"}}
    assert services["library"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    for name in (*UPSTREAMS, "postgres", "gateway"):
        test = services[name]["healthcheck"]["test"]
        assert test[0] == "CMD", f"{name}: healthcheck must be an exec form"


@pytest.mark.parametrize("name", [*MODEL_SERVICES, "gateway", "library", "dashboard"])
def test_healthchecks_probe_the_liveness_route_on_the_service_port(compose_gpu, name):
    test = " ".join(compose_gpu["services"][name]["healthcheck"]["test"])
    path = "/_stcore/health" if name == "dashboard" else "/healthz"
    assert f"http://127.0.0.1:{PORTS[name]}{path}" in test


def test_only_gateway_and_dashboard_publish_ports_on_loopback_by_default(compose_gpu):
    publishing = {n for n, s in compose_gpu["services"].items() if ports(s)}
    assert publishing == {"gateway", "dashboard"}
    for name in publishing:
        (port,) = ports(compose_gpu["services"][name])
        assert port == {"host_ip": "127.0.0.1", "published": PORTS[name], "target": PORTS[name]}


def test_upstreams_live_on_the_internal_network_the_dashboard_cannot_reach(compose_gpu):
    services, declared = compose_gpu["services"], compose_gpu["networks"]
    assert declared["backend"].get("internal") is True
    for name in (*UPSTREAMS, "postgres"):
        attached = networks(services[name])
        assert "backend" in attached
        # Any other network must be internal or publish nothing that is shared with the public side.
        assert "frontend" not in attached, f"{name} must not share a network with the dashboard"
    assert networks(services["gateway"]) == {"frontend", "backend"}
    assert networks(services["dashboard"]) == {"frontend"}
    assert networks(services["redis"]) == networks(services["redis-jobs"]) == {"backend"}
    # The library and its database need no route out at all.
    assert networks(services["library"]) == networks(services["postgres"]) == {"backend"}


@pytest.mark.parametrize("name", JOBS)
def test_jobs_are_one_shot_and_behind_a_profile(compose_gpu, name):
    job = compose_gpu["services"][name]
    assert job["profiles"] == ["jobs"]
    assert job["restart"] == "no"
    assert not ports(job)


def test_ingest_publishes_to_the_index_volume_that_retrieval_reads(compose_gpu):
    services = compose_gpu["services"]
    ingest_index = mounts(services["ingest"])["/data/index"]
    retrieval_index = mounts(services["retrieval"])["/data/index"]
    assert ingest_index["type"] == retrieval_index["type"] == "volume"
    assert ingest_index["source"] == retrieval_index["source"]
    assert not ingest_index["read_only"]
    assert retrieval_index["read_only"]
    assert services["retrieval"]["environment"]["RETRIEVAL_INDEX_DIR"] == "/data/index/current"
    assert services["ingest"]["command"][0] == "batik-publish-index"
    assert services["ingest"]["environment"]["RELOAD_DNS"] == "retrieval:8001"


@pytest.mark.parametrize("name", TRAINING_JOBS)
def test_fine_tuning_jobs_run_the_training_image_and_read_the_index(compose_gpu, name):
    job = compose_gpu["services"][name]
    assert job["image"] == "batik/train:0.1.0"
    assert job["build"]["dockerfile"] == "docker/train.Dockerfile"
    assert job["command"][:2] == ["batik", name]
    assert job["command"][job["command"].index("--index") + 1] == "/data/index/current"
    assert mounts(job)["/data/index"] == {"source": "index", "type": "volume", "read_only": True}
    # the hub only: a job takes no traffic and calls no service
    assert networks(job) == {"egress"}


def test_styles_go_from_the_style_job_to_generation_on_one_volume(compose_gpu, tmp_path):
    services = compose_gpu["services"]
    served = mounts(services["generation"])["/data/styles"]
    written = mounts(services["finetune-style"])["/data/styles"]
    assert served == {"source": "styles", "type": "volume", "read_only": True}
    assert written == {"source": "styles", "type": "volume", "read_only": False}
    assert "styles" in compose_gpu["volumes"]
    # fixed, not from .env: the mount is the compose file's
    assert services["generation"]["environment"]["GENERATION_STYLES_DIR"] == "/data/styles"
    assert "GENERATION_STYLES_DIR" in FIXED_SETTINGS
    command = services["finetune-style"]["command"]
    assert command[command.index("--out") + 1] == "/data/styles/nitik"
    # BATIK_STYLE_NAME names the style (GENERATION_STYLE=<it> serves it)
    env = write_env(
        tmp_path / "named.env",
        {"GATEWAY_API_KEYS": "x", "POSTGRES_PASSWORD": "x", "BATIK_STYLE_NAME": "parang-2"},
    )
    named = yaml.safe_load(compose_config([COMPOSE], env).stdout)["services"]["finetune-style"]
    assert named["command"][named["command"].index("--out") + 1] == "/data/styles/parang-2"


def test_fine_tuning_jobs_train_on_the_pinned_models_the_services_load(tmp_path):
    """The jobs read the model (and its revision) of the service that will load what they train."""
    names = {
        "finetune": ("CAPTIONING_MODEL", "CAPTIONING_MODEL_REVISION", "CAPTIONING_TRAIN_TEMPLATE"),
        "finetune-style": ("GENERATION_MODEL", "GENERATION_MODEL_REVISION", "GENERATION_STYLE_TEMPLATE"),
    }  # fmt: skip
    values = {n: f"value-of-{n}" for group in names.values() for n in group}
    env = write_env(
        tmp_path / "pins.env", {"GATEWAY_API_KEYS": "x", "POSTGRES_PASSWORD": "x", **values}
    )
    services = yaml.safe_load(compose_config([COMPOSE], env).stdout)["services"]
    for job, group in names.items():
        for name in group:
            assert services[job]["environment"][name] == values[name], (job, name)


@pytest.mark.parametrize("name", [*MODEL_SERVICES, "gateway", *JOBS])
def test_hf_home_is_a_named_volume(compose_gpu, name):
    cache = mounts(compose_gpu["services"][name])[HF_HOME]
    assert cache["type"] == "volume"
    assert cache["source"] == "hf-cache"
    assert not cache["read_only"]


def test_designs_live_on_named_volumes_and_in_the_compose_postgresql(compose_gpu):
    services = compose_gpu["services"]
    assert mounts(services["library"])["/data/library"] == {
        "source": "library-files", "type": "volume", "read_only": False,
    }  # fmt: skip
    assert mounts(services["postgres"])["/var/lib/postgresql/data"]["source"] == "postgres-data"
    env = services["library"]["environment"]
    assert env["LIBRARY_DIR"] == "/data/library"
    assert env["LIBRARY_DB_URL"] == "postgresql://batik:test-password@postgres:5432/library"
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"] == "test-password"


def test_gateway_reaches_upstreams_by_service_name(compose_gpu):
    env = compose_gpu["services"]["gateway"]["environment"]
    assert env["GATEWAY_LIBRARY_URL"] == "http://library:8004"
    for name in MODEL_SERVICES:
        assert env[f"GATEWAY_{name.upper()}_URL"] == f"http://{name}:{PORTS[name]}"
    assert env["GATEWAY_REDIS_URL"] == "redis://redis:6379/0"


def _redis_flags(command: list[str]) -> dict[str, str]:
    assert command[0] == "redis-server"
    return {command[i].removeprefix("--"): command[i + 1] for i in range(1, len(command) - 1, 2)}


def test_jobs_live_in_a_redis_that_persists_and_never_evicts(compose_gpu):
    """Issue 16, finding 2: one evicting, unpersisted Redis lost 14 of 20 accepted jobs."""
    services = compose_gpu["services"]
    jobs = _redis_flags(services["redis-jobs"]["command"])
    assert jobs["appendonly"] == "yes" and jobs["maxmemory-policy"] == "noeviction"
    assert mounts(services["redis-jobs"])["/data"]["source"] == "redis-jobs-data"
    cache = _redis_flags(services["redis"]["command"])
    assert cache["maxmemory-policy"] == "allkeys-lru"  # the cache may evict: it holds no job
    gateway = services["gateway"]["environment"]
    assert gateway["GATEWAY_JOB_REDIS_URL"] == "redis://redis-jobs:6379/0"
    generation = services["generation"]["environment"]
    assert generation["GENERATION_REDIS_URL"] == "redis://redis-jobs:6379/1"


def test_no_secret_value_is_written_in_the_compose_files():
    for path in (COMPOSE, CPU_OVERRIDE):
        for name, value in re.findall(r"^\s*([A-Z][A-Z0-9_]*):\s*(.*)$", path.read_text(), re.M):
            if SECRET_NAME.search(name):
                # Only a pass-through of the variable of the same name, with no default value.
                assert re.fullmatch(rf"\$\{{{name}(:-|:\?[^}}]*)?\}}", value.strip()), (
                    f"{path.name}: {name} must come from .env, got {value!r}"
                )


def test_secrets_resolve_empty_without_an_env_file(compose_gpu):
    for service in compose_gpu["services"].values():
        for name, value in (service.get("environment") or {}).items():
            if SECRET_NAME.search(name) and name not in REQUIRED_SECRETS:
                assert value in ("", None), f"{name} has a value baked in"


def test_env_example_holds_no_secret_values():
    for name, value in env_example().items():
        if SECRET_NAME.search(name):
            assert value == "", f".env.example: {name} must be empty"


def test_env_example_lists_every_service_setting():
    listed = set(env_example())
    for _prefix, names in settings_fields().items():
        missing = names - FIXED_SETTINGS - listed
        assert not missing, f".env.example lacks {sorted(missing)}"


def test_env_example_holds_nothing_compose_ignores():
    text = COMPOSE.read_text()
    known = set().union(*settings_fields().values())
    for name in env_example():
        assert f"${{{name}" in text, f".env.example: {name} is not used by docker-compose.yml"
        if re.match(r"(RETRIEVAL|CAPTIONING|GENERATION|GATEWAY|LIBRARY|DASHBOARD)_", name):
            assert name in known, f".env.example: {name} is no setting of any service"


def test_every_setting_in_env_example_reaches_its_service(tmp_path):
    values = {name: f"value-of-{name}" for name in env_example()}
    values["BATIK_BIND_ADDRESS"] = "0.0.0.0"
    values["BATIK_DATASET_DIR"] = str(tmp_path / "dataset")
    for name in ("BATIK_GATEWAY_PORT", "BATIK_DASHBOARD_PORT"):
        values[name] = "18000" if "GATEWAY" in name else "18501"
    config = yaml.safe_load(
        compose_config([COMPOSE], write_env(tmp_path / "all.env", values)).stdout
    )
    services = config["services"]
    owners = {
        "RETRIEVAL_": "retrieval",
        "CAPTIONING_": "captioning",
        "GENERATION_": "generation",
        "GATEWAY_": "gateway",
        "LIBRARY_": "library",
        "DASHBOARD_": "dashboard",
    }
    for name in values:
        owner = next((svc for prefix, svc in owners.items() if name.startswith(prefix)), None)
        if owner:
            assert services[owner]["environment"].get(name) == values[name], name
    assert (
        services["retrieval"]["image"]
        == "value-of-BATIK_IMAGE_PREFIX/retrieval:value-of-BATIK_IMAGE_TAG"
    )
    assert ports(services["gateway"]) == [
        {"host_ip": "0.0.0.0", "published": 18000, "target": 8000}
    ]


# ---- docker-compose.cpu.yml ---------------------------------------------------------------------

RESET = object()


class _ResetLoader(yaml.SafeLoader):
    """Reads Compose v2's `!reset` tag, which docker-compose 1.x cannot parse."""


_ResetLoader.add_constructor("!reset", lambda loader, node: RESET)


def _split_resets(tree: Any, path: tuple = ()) -> tuple[Any, list[tuple]]:
    """The tree without its `!reset` nodes, and the paths they reset."""
    if not isinstance(tree, dict):
        return tree, []
    kept, resets = {}, []
    for key, value in tree.items():
        if value is RESET:
            resets.append((*path, key))
            continue
        kept[key], inner = _split_resets(value, (*path, key))
        resets += inner
    return kept, resets


@pytest.fixture(scope="module")
def compose_cpu(tmp_path_factory, test_env_file) -> dict[str, Any]:
    """base + cpu override, merged as Compose v2 does: v1 merges everything but the `!reset` keys,
    which are then removed; the result must still resolve on its own."""
    tmp = tmp_path_factory.mktemp("cpu")
    override, resets = _split_resets(yaml.load(CPU_OVERRIDE.read_text(), _ResetLoader))
    assert resets, "the CPU override must !reset the GPU reservations"
    stripped = tmp / "cpu-stripped.yml"
    stripped.write_text(yaml.safe_dump(override))
    merged = yaml.safe_load(compose_config([COMPOSE, stripped], test_env_file).stdout)
    for path in resets:
        node = merged
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]
    final = tmp / "merged.yml"
    final.write_text(yaml.safe_dump(merged))
    return yaml.safe_load(compose_config([final], test_env_file).stdout)


def test_cpu_override_leaves_no_gpu_reservation(compose_cpu):
    for name, service in compose_cpu["services"].items():
        reservations = service.get("deploy", {}).get("resources", {}).get("reservations", {})
        assert not reservations.get("devices"), f"{name} still reserves a device"


@pytest.mark.parametrize("name", MODEL_SERVICES)
def test_cpu_override_runs_models_on_cpu_from_cpu_images(compose_cpu, name):
    service = compose_cpu["services"][name]
    assert service["environment"][f"{name.upper()}_DEVICE"] == "cpu"
    assert service["environment"][f"{name.upper()}_DTYPE"] == "float32"
    assert service["image"].endswith("-cpu")
    assert "cuda" not in service["build"]["args"]["BASE_IMAGE"]
    assert service["build"]["args"]["TORCH_INDEX_URL"].endswith("/cpu")


@pytest.mark.parametrize("name", TRAINING_JOBS)
def test_cpu_override_builds_the_training_image_on_cpu(compose_cpu, name):
    job = compose_cpu["services"][name]
    assert job["image"] == "batik/train:0.1.0-cpu"
    assert "cuda" not in job["build"]["args"]["BASE_IMAGE"]
    assert job["build"]["args"]["TORCH_INDEX_URL"].endswith("/cpu")


def test_cpu_override_keeps_everything_else(compose_cpu, compose_gpu):
    for name, service in compose_gpu["services"].items():
        cpu = compose_cpu["services"][name]
        assert networks(cpu) == networks(service), name
        assert ports(cpu) == ports(service), name
        assert mounts(cpu) == mounts(service), name
        for key in ("depends_on", "healthcheck", "profiles", "command"):
            assert cpu.get(key) == service.get(key), f"{name}.{key} changed"
