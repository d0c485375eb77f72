"""The one-GPU placement, offline: docker-compose.one-gpu.yml merged over docker-compose.yml by
`docker-compose config`, and the k8s `one-gpu` overlay rendered by `kubectl kustomize`."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from tests.deploy.helpers import MODEL_SERVICES, REPO, compose_config, kustomize, write_env

COMPOSE = REPO / "docker-compose.yml"
ONE_GPU = REPO / "docker-compose.one-gpu.yml"
JOBS = ("ingest", "finetune", "finetune-style")
BUDGETS = {"retrieval": 0.06, "captioning": 0.55, "generation": 0.28}


class Override:
    def __init__(self, value: Any) -> None:
        self.value = value


class _OverrideLoader(yaml.SafeLoader):
    """Reads Compose v2's `!override` tag (replace, do not merge), which docker-compose 1.x lacks."""


_OverrideLoader.add_constructor(
    "!override", lambda loader, node: Override(loader.construct_sequence(node, deep=True))
)


def _split_overrides(tree: Any, path: tuple = ()) -> tuple[Any, list[tuple[tuple, Any]]]:
    if not isinstance(tree, dict):
        return tree, []
    kept, found = {}, []
    for key, value in tree.items():
        if isinstance(value, Override):
            found.append(((*path, key), value.value))
            continue
        kept[key], inner = _split_overrides(value, (*path, key))
        found += inner
    return kept, found


def merged_one_gpu(tmp_path, env: dict[str, str]) -> dict[str, Any]:
    """base + one-gpu override as Compose v2 merges them: v1 merges all but the `!override` keys,
    which then replace the base's value; the result must resolve on its own."""
    # the compose file's required values (see conftest's test_env_file), then the test's own
    required = {"GATEWAY_API_KEYS": "sha256:" + "ab" * 32, "POSTGRES_PASSWORD": "test-password"}
    env_file = write_env(tmp_path / "test.env", {**required, **env})
    tree = yaml.load(ONE_GPU.read_text(), _OverrideLoader)
    # x- keys only hold the anchors; their values are already expanded where they are used
    override, replaced = _split_overrides({k: v for k, v in tree.items() if not k.startswith("x-")})
    assert replaced, "the one-GPU override must !override the device reservations"
    stripped = tmp_path / "one-gpu-stripped.yml"
    stripped.write_text(yaml.safe_dump(override))
    merged = yaml.safe_load(compose_config([COMPOSE, stripped], env_file).stdout)
    for path, value in replaced:
        node = merged
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    final = tmp_path / "merged.yml"
    final.write_text(yaml.safe_dump(merged))
    return yaml.safe_load(compose_config([final], env_file).stdout)["services"]


@pytest.fixture(scope="module")
def one_gpu(tmp_path_factory) -> dict[str, Any]:
    # The base file's per-service GPU variables point at different cards: the override wins.
    return merged_one_gpu(
        tmp_path_factory.mktemp("one-gpu"),
        {"BATIK_RETRIEVAL_GPU": "1", "BATIK_CAPTIONING_GPU": "2", "BATIK_GENERATION_GPU": "3"},
    )


@pytest.mark.parametrize("name", (*MODEL_SERVICES, *JOBS))
def test_every_model_workload_reserves_the_same_single_gpu(one_gpu, name):
    devices = one_gpu[name]["deploy"]["resources"]["reservations"]["devices"]
    assert devices == [{"driver": "nvidia", "device_ids": ["0"], "capabilities": ["gpu"]}]


@pytest.mark.parametrize("name", MODEL_SERVICES)
def test_each_model_service_has_a_memory_budget_that_sums_below_one(one_gpu, name):
    env = one_gpu[name]["environment"]
    prefix = name.upper()
    assert float(env[f"{prefix}_CUDA_MEMORY_FRACTION"]) == BUDGETS[name]
    assert env["PYTORCH_CUDA_ALLOC_CONF"] == "expandable_segments:True"
    assert env[f"{prefix}_DEVICE"] == "cuda" and env[f"{prefix}_DTYPE"] == "float16"
    # what the budgets leave is the room for the three CUDA contexts
    assert 0.85 <= sum(BUDGETS.values()) <= 0.9


def test_the_gpu_and_the_budgets_come_from_env(tmp_path):
    services = merged_one_gpu(
        tmp_path, {"BATIK_GPU": "1", "CAPTIONING_CUDA_MEMORY_FRACTION": "0.4"}
    )
    for name in (*MODEL_SERVICES, *JOBS):
        devices = services[name]["deploy"]["resources"]["reservations"]["devices"]
        assert [d["device_ids"] for d in devices] == [["1"]], name
    assert services["captioning"]["environment"]["CAPTIONING_CUDA_MEMORY_FRACTION"] == "0.4"


def test_the_budgets_are_settings_the_services_read(monkeypatch):
    from services.captioning.config import CaptioningSettings
    from services.generation.config import GenerationSettings
    from services.retrieval.config import RetrievalSettings

    for cls, name in (
        (RetrievalSettings, "retrieval"),
        (CaptioningSettings, "captioning"),
        (GenerationSettings, "generation"),
    ):
        monkeypatch.setenv(f"{name.upper()}_CUDA_MEMORY_FRACTION", str(BUDGETS[name]))
        assert cls().cuda_memory_fraction == BUDGETS[name]
    monkeypatch.setenv("CAPTIONING_CUDA_MEMORY_FRACTION", "1.5")
    with pytest.raises(ValueError, match="less than or equal to 1"):
        CaptioningSettings()


# ---- k8s/overlays/one-gpu -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def rendered_one_gpu() -> list[dict[str, Any]]:
    return kustomize("one-gpu")


def _by(docs, kind):
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def test_k8s_one_gpu_budgets_and_allocator_in_the_settings(rendered_one_gpu):
    (settings,) = [
        d
        for d in rendered_one_gpu
        if d["kind"] == "ConfigMap" and "batik-settings" in d["metadata"]["name"]
    ]
    data = settings["data"]
    for name, share in BUDGETS.items():
        assert float(data[f"{name.upper()}_CUDA_MEMORY_FRACTION"]) == share
        assert data[f"{name.upper()}_DEVICE"] == "cuda"
    assert data["PYTORCH_CUDA_ALLOC_CONF"] == "expandable_segments:True"


def test_k8s_one_gpu_pods_share_one_time_sliced_gpu_on_one_node(rendered_one_gpu):
    deployments = _by(rendered_one_gpu, "Deployment")
    for name in MODEL_SERVICES:
        spec = deployments[name]["spec"]["template"]["spec"]
        (container,) = spec["containers"]
        assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
        # the node whose device plugin time-slices its one GPU (docs/DEPLOY.md, "One GPU")
        assert spec["nodeSelector"] == {
            "batik.io/one-gpu": "true",
            "nvidia.com/gpu.present": "true",
        }
        # a second pod of a service would need a second budget: one replica, no surge
        strategy = deployments[name]["spec"]["strategy"]["rollingUpdate"]
        assert strategy == {"maxSurge": 0, "maxUnavailable": 1}
    # the jobs go to the same card (they need it to themselves: docs/DEPLOY.md, "One GPU")
    for name in ("batik-ingest", "batik-finetune", "batik-finetune-style"):
        spec = _by(rendered_one_gpu, "Job")[name]["spec"]["template"]["spec"]
        assert spec["nodeSelector"]["batik.io/one-gpu"] == "true", name
        assert spec["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == 1, name
    for hpa in _by(rendered_one_gpu, "HorizontalPodAutoscaler").values():
        target = hpa["spec"]["scaleTargetRef"]["name"]
        if target in MODEL_SERVICES:
            assert hpa["spec"]["minReplicas"] == hpa["spec"]["maxReplicas"] == 1, target
    plugin = _by(rendered_one_gpu, "ConfigMap")["nvidia-device-plugin-time-slicing"]
    sharing = yaml.safe_load(plugin["data"]["batik-one-gpu"])["sharing"]["timeSlicing"]
    assert sharing["resources"] == [{"name": "nvidia.com/gpu", "replicas": 4}]


def test_k8s_one_gpu_validates_strictly(tmp_path):
    from tests.deploy.helpers import run, tool

    manifest = tmp_path / "one-gpu.yaml"
    manifest.write_text(
        run([tool("kubectl"), "kustomize", str(REPO / "k8s/overlays/one-gpu")]).stdout
    )
    run([tool("kubernetes-validate"), "--strict", str(manifest)])
