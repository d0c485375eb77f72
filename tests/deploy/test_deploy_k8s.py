"""k8s/: the dev and gpu overlays, rendered by `kubectl kustomize` and validated against the schemas."""

from __future__ import annotations

from typing import Any

import pytest

from tests.deploy.helpers import HF_HOME, MODEL_SERVICES, PORTS, REPO, run, tool

OVERLAYS = ("dev", "gpu")
APP_DEPLOYMENTS = (*MODEL_SERVICES, "gateway", "library", "dashboard")
TRAINING_JOBS = ("batik-finetune", "batik-finetune-style")  # the training image
JOBS = ("batik-ingest", *TRAINING_JOBS, "batik-db-migrate")
GPU_WORKLOADS = {("Deployment", n) for n in MODEL_SERVICES} | {
    ("Job", n) for n in ("batik-ingest", *TRAINING_JOBS)
}


def of_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def pod_spec(doc: dict[str, Any]) -> dict[str, Any]:
    return doc["spec"]["template"]["spec"]


def workloads(docs):
    for kind in ("Deployment", "StatefulSet", "Job"):
        for name, doc in of_kind(docs, kind).items():
            yield kind, name, doc


def matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """Kubernetes label-selector semantics (matchLabels and the In / NotIn / Exists operators)."""
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expr in selector.get("matchExpressions", []):
        key, op, values = expr["key"], expr["operator"], expr.get("values", [])
        if (
            (op == "In" and labels.get(key) not in values)
            or (op == "NotIn" and labels.get(key) in values)
            or (op == "Exists" and key not in labels)
            or (op == "DoesNotExist" and key in labels)
        ):
            return False
    return True


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_validates_strictly_against_the_kubernetes_schemas(overlay, tmp_path):
    manifest = tmp_path / f"{overlay}.yaml"
    manifest.write_text(
        run([tool("kubectl"), "kustomize", str(REPO / "k8s/overlays" / overlay)]).stdout
    )
    result = run([tool("kubernetes-validate"), "--strict", "--quiet", str(manifest)], check=False)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_holds_every_component(rendered, overlay):
    docs = rendered[overlay]
    assert set(of_kind(docs, "Deployment")) == {*APP_DEPLOYMENTS, "redis"}
    assert set(of_kind(docs, "Job")) == set(JOBS)
    assert {"model-cache", "index", "adapters", "styles", "library-files"} <= set(
        of_kind(docs, "PersistentVolumeClaim")
    )
    assert set(of_kind(docs, "StatefulSet")) == {"postgres", "redis-jobs"}
    assert set(of_kind(docs, "HorizontalPodAutoscaler")) == set(APP_DEPLOYMENTS)
    assert set(of_kind(docs, "PodDisruptionBudget")) == set(APP_DEPLOYMENTS)
    assert len(of_kind(docs, "ConfigMap")) == 1 and len(of_kind(docs, "Secret")) == 1
    assert {d["metadata"].get("namespace") for d in docs if d["kind"] != "Namespace"} == {"batik"}


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("name", APP_DEPLOYMENTS)
def test_deployments_probe_startup_readiness_and_liveness(rendered, overlay, name):
    (container,) = pod_spec(of_kind(rendered[overlay], "Deployment")[name])["containers"]
    ready, alive = ("/_stcore/health",) * 2 if name == "dashboard" else ("/readyz", "/healthz")
    assert container["readinessProbe"]["httpGet"]["path"] == ready
    assert container["livenessProbe"]["httpGet"]["path"] == alive
    startup = container["startupProbe"]
    assert startup["httpGet"]["path"] in (ready, alive)
    if name in MODEL_SERVICES:
        # Model loading (a first download of several GB) must fit in the startup window.
        assert startup["httpGet"]["path"] == "/readyz"
        assert startup["periodSeconds"] * startup["failureThreshold"] >= 600
    assert container["ports"][0]["containerPort"] == PORTS[name]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_container_has_requests_limits_and_runs_as_non_root(rendered, overlay):
    for kind, name, doc in workloads(rendered[overlay]):
        spec = pod_spec(doc)
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        for container in spec["containers"]:
            resources = container["resources"]
            assert {"cpu", "memory"} <= set(resources["requests"]), f"{kind}/{name}"
            assert {"cpu", "memory"} <= set(resources["limits"]), f"{kind}/{name}"
            assert container["securityContext"]["allowPrivilegeEscalation"] is False


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_services_route_to_their_deployments(rendered, overlay):
    docs = rendered[overlay]
    services = of_kind(docs, "Service")
    for name, deployment in of_kind(docs, "Deployment").items():
        service = services[name]
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert matches({"matchLabels": service["spec"]["selector"]}, labels), name
        assert matches(deployment["spec"]["selector"], labels), name
        if name in PORTS:
            assert service["spec"]["ports"][0]["port"] == PORTS[name]
    # The ingest Job reaches every retrieval replica through a headless Service.
    replicas = services["retrieval-replicas"]["spec"]
    assert replicas["clusterIP"] == "None" and replicas["publishNotReadyAddresses"] is True


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_hpas_and_pdbs_cover_each_service(rendered, overlay):
    docs = rendered[overlay]
    deployments = of_kind(docs, "Deployment")
    for name, hpa in of_kind(docs, "HorizontalPodAutoscaler").items():
        assert hpa["apiVersion"] == "autoscaling/v2"
        assert hpa["spec"]["scaleTargetRef"] == {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": name,
        }
        assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
        # The HPA owns the replica count; an applied one would reset it on every deploy.
        assert "replicas" not in deployments[name]["spec"]
    for name, pdb in of_kind(docs, "PodDisruptionBudget").items():
        labels = deployments[name]["spec"]["template"]["metadata"]["labels"]
        assert matches(pdb["spec"]["selector"], labels)
        assert pdb["spec"]["maxUnavailable"] == 1  # never blocks a drain of a single replica


def test_dev_overlay_runs_one_cpu_replica_of_everything(rendered):
    docs = rendered["dev"]
    for name, hpa in of_kind(docs, "HorizontalPodAutoscaler").items():
        assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (1, 1), name
    for _kind, name, doc in workloads(docs):
        for container in pod_spec(doc)["containers"]:
            assert "nvidia.com/gpu" not in container["resources"].get("limits", {}), name
        assert "nodeSelector" not in pod_spec(doc), name
    (settings,) = of_kind(docs, "ConfigMap").values()
    for name in MODEL_SERVICES:
        assert settings["data"][f"{name.upper()}_DEVICE"] == "cpu"


def test_gpu_overlay_puts_exactly_the_model_workloads_on_gpus(rendered):
    for kind, name, doc in workloads(rendered["gpu"]):
        spec = pod_spec(doc)
        limits = spec["containers"][0]["resources"]["limits"]
        if (kind, name) in GPU_WORKLOADS:
            assert limits["nvidia.com/gpu"] == 1, name
            assert spec["nodeSelector"] == {"nvidia.com/gpu.present": "true"}, name
            assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in spec[
                "tolerations"
            ], name
        else:
            assert "nvidia.com/gpu" not in limits, name
            assert "nodeSelector" not in spec, name
    (settings,) = of_kind(rendered["gpu"], "ConfigMap").values()
    for name in MODEL_SERVICES:
        assert settings["data"][f"{name.upper()}_DEVICE"] == "cuda"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_network_policies_let_only_the_gateway_reach_upstreams(rendered, overlay):
    docs = rendered[overlay]
    policies = list(of_kind(docs, "NetworkPolicy").values())
    pods = {name: d["spec"]["template"]["metadata"]["labels"] for _, name, d in workloads(docs)}
    pods["stranger"] = {"app.kubernetes.io/name": "something-else"}

    def allowed(source: str, target: str, port: int) -> bool:
        selecting = [
            p
            for p in policies
            if matches(p["spec"]["podSelector"], pods[target])
            and "Ingress" in p["spec"]["policyTypes"]
        ]
        assert selecting, f"no policy selects {target}: all traffic would be allowed"
        for policy in selecting:
            for rule in policy["spec"].get("ingress", []):
                peers = rule.get("from")
                port_ok = not rule.get("ports") or any(p["port"] == port for p in rule["ports"])
                for peer in peers or []:
                    assert set(peer) == {"podSelector"}, "only same-namespace pod peers expected"
                peer_ok = not peers or any(matches(p["podSelector"], pods[source]) for p in peers)
                if port_ok and peer_ok:
                    return True
        return False

    upstream_ports = {
        **{n: PORTS[n] for n in (*MODEL_SERVICES, "library")},
        "redis": 6379,
        "redis-jobs": 6379,
        "postgres": 5432,
    }
    callers = {
        "retrieval": {"gateway", "batik-ingest"},
        "captioning": {"gateway"},
        "generation": {"gateway"},
        "library": {"gateway"},  # it trusts the owner id it is sent: nobody else may send one
        "redis": {"gateway", *MODEL_SERVICES},
        "redis-jobs": {"gateway", "generation"},
        "postgres": {"library", "batik-db-migrate"},
    }
    for target, port in upstream_ports.items():
        reach = {source for source in pods if source != target and allowed(source, target, port)}
        assert reach == callers[target], f"{target} reachable from {sorted(reach)}"
    for public in ("gateway", "dashboard"):
        assert allowed("stranger", public, PORTS[public])
        assert not allowed("stranger", public, 6379)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_jobs_are_created_suspended_and_share_the_volumes(rendered, overlay):
    docs = rendered[overlay]
    jobs = of_kind(docs, "Job")
    for name, job in jobs.items():
        assert job["spec"]["suspend"] is True, f"{name} would start on every apply"
        assert pod_spec(job)["restartPolicy"] == "Never"
    claims = set(of_kind(docs, "PersistentVolumeClaim"))

    def claim_at(doc, path):
        spec = pod_spec(doc)
        (mount,) = [m for m in spec["containers"][0]["volumeMounts"] if m["mountPath"] == path]
        (volume,) = [v for v in spec["volumes"] if v["name"] == mount["name"]]
        assert volume["persistentVolumeClaim"]["claimName"] in claims
        return volume["persistentVolumeClaim"]["claimName"], mount.get("readOnly", False)

    retrieval = of_kind(docs, "Deployment")["retrieval"]
    assert claim_at(jobs["batik-ingest"], "/data/index") == ("index", False)
    assert claim_at(retrieval, "/data/index") == ("index", True)
    assert (
        claim_at(jobs["batik-finetune"], "/data/adapters")[0]
        == claim_at(of_kind(docs, "Deployment")["captioning"], "/data/adapters")[0]
    )
    generation = of_kind(docs, "Deployment")["generation"]
    assert claim_at(jobs["batik-finetune-style"], "/data/styles") == ("styles", False)
    assert claim_at(generation, "/data/styles") == ("styles", True)
    (styles,) = [v for v in pod_spec(generation)["volumes"] if v["name"] == "styles"]
    assert styles["persistentVolumeClaim"]["readOnly"] is True
    for name in TRAINING_JOBS:
        assert claim_at(jobs[name], "/data/index") == ("index", True)
        assert claim_at(jobs[name], HF_HOME) == ("model-cache", False)
    for name in (*MODEL_SERVICES, "gateway"):
        assert claim_at(of_kind(docs, "Deployment")[name], HF_HOME) == ("model-cache", False)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_fine_tuning_jobs_run_the_training_image(rendered, overlay):
    jobs = of_kind(rendered[overlay], "Job")
    for name in TRAINING_JOBS:
        (container,) = pod_spec(jobs[name])["containers"]
        assert container["image"] == "batik/train:0.1.0", name
        assert container["command"][:2] == ["batik", name.removeprefix("batik-")]
    style = pod_spec(jobs["batik-finetune-style"])["containers"][0]
    assert style["command"][style["command"].index("--out") + 1] == "/data/styles/$(STYLE_NAME)"
    env = {e["name"]: e.get("value") for e in style["env"]}
    assert env["STYLE_NAME"] == "nitik"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_settings_point_at_the_services_and_secrets_are_placeholders(rendered, overlay):
    docs = rendered[overlay]
    (settings,) = of_kind(docs, "ConfigMap").values()
    data = settings["data"]
    for name in MODEL_SERVICES:
        assert data[f"GATEWAY_{name.upper()}_URL"] == f"http://{name}:{PORTS[name]}"
    assert data["GATEWAY_REDIS_URL"].startswith("redis://redis:6379")
    # Issue 16, finding 2: jobs in a Redis that persists and never evicts, apart from the cache.
    assert data["GATEWAY_JOB_REDIS_URL"] == "redis://redis-jobs:6379/0"
    assert data["GENERATION_REDIS_URL"] == "redis://redis-jobs:6379/1"
    (jobs,) = [c for c in pod_spec(of_kind(docs, "StatefulSet")["redis-jobs"])["containers"]]
    flags = dict(zip(jobs["args"][::2], jobs["args"][1::2], strict=True))
    assert flags["--appendonly"] == "yes" and flags["--maxmemory-policy"] == "noeviction"
    (cache,) = pod_spec(of_kind(docs, "Deployment")["redis"])["containers"]
    assert dict(zip(cache["args"][::2], cache["args"][1::2], strict=True))[
        "--maxmemory-policy"
    ] == ("allkeys-lru")
    assert data["RETRIEVAL_INDEX_DIR"] == "/data/index/current"
    assert data["GENERATION_STYLES_DIR"] == "/data/styles"  # the styles claim's mount
    assert data["HF_HOME"] == HF_HOME
    (secret,) = of_kind(docs, "Secret").values()
    assert "GATEWAY_API_KEYS" in secret["stringData"]
    assert secret["metadata"]["annotations"]["batik.example.com/placeholder"] == "true"
    assert data["GATEWAY_LIBRARY_URL"] == f"http://library:{PORTS['library']}"
    assert "POSTGRES_PASSWORD" in secret["stringData"]
    for key in ("GATEWAY_API_KEYS", "RETRIEVAL_ADMIN_TOKEN", "POSTGRES_PASSWORD", "LIBRARY_DB_URL"):
        assert key not in data, f"{key} belongs in the Secret, not the ConfigMap"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_library_keeps_designs_on_claims_and_reaches_postgres_with_the_secret(rendered, overlay):
    docs = rendered[overlay]
    library = pod_spec(of_kind(docs, "Deployment")["library"])
    migrate = pod_spec(of_kind(docs, "Job")["batik-db-migrate"])
    postgres = of_kind(docs, "StatefulSet")["postgres"]
    (files,) = [v for v in library["volumes"] if v["name"] == "library-files"]
    assert files["persistentVolumeClaim"]["claimName"] == "library-files"
    (data,) = postgres["spec"]["volumeClaimTemplates"]
    assert data["metadata"]["name"] == "data"
    assert {"name": "data", "mountPath": "/var/lib/postgresql/data"} in pod_spec(postgres)[
        "containers"
    ][0]["volumeMounts"]
    for spec in (library, migrate, pod_spec(postgres)):
        env = {e["name"]: e for e in spec["containers"][0]["env"]}
        assert env["POSTGRES_PASSWORD"]["valueFrom"]["secretKeyRef"]["key"] == "POSTGRES_PASSWORD"
    for spec in (library, migrate):
        env = {e["name"]: e.get("value") for e in spec["containers"][0]["env"]}
        # Defined after POSTGRES_PASSWORD, so that Kubernetes expands $(POSTGRES_PASSWORD).
        names = [e["name"] for e in spec["containers"][0]["env"]]
        assert names.index("POSTGRES_PASSWORD") < names.index("LIBRARY_DB_URL")
        assert (
            env["LIBRARY_DB_URL"] == "postgresql://batik:$(POSTGRES_PASSWORD)@postgres:5432/library"
        )
    assert migrate["containers"][0]["command"] == ["batik", "db", "upgrade"]
    assert migrate["containers"][0]["image"].startswith("batik/library")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_ingress_exposes_only_the_gateway_and_dashboard(rendered, overlay):
    (ingress,) = of_kind(rendered[overlay], "Ingress").values()
    backends = {
        path["backend"]["service"]["name"]
        for rule in ingress["spec"]["rules"]
        for path in rule["http"]["paths"]
    }
    assert backends == {"gateway", "dashboard"}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_ingress_waits_for_the_longest_synchronous_request_and_no_longer(rendered, overlay):
    """Issue 16, finding 10: the ingress's proxy timeouts outlast the gateway's RAG deadline (a
    synchronous /v1/rag or remix ends by GATEWAY_RAG_DEADLINE_S), with a margin, but stay bounded."""
    from gateway.config import GatewaySettings

    (ingress,) = of_kind(rendered[overlay], "Ingress").values()
    notes = ingress["metadata"]["annotations"]
    deadline = GatewaySettings.model_fields["rag_deadline_s"].default
    for name in ("proxy-read-timeout", "proxy-send-timeout"):
        seconds = int(notes[f"nginx.ingress.kubernetes.io/{name}"])
        assert deadline + 30 <= seconds <= deadline + 300, (name, seconds, deadline)
    assert int(notes["nginx.ingress.kubernetes.io/proxy-connect-timeout"]) <= 10
