"""Fault injection on the real stack: dependencies die and come back while requests flow.

Every test puts back what it broke (same ports), so the package's stack is whole again afterwards.
"""

from __future__ import annotations

import signal
import threading
from collections import Counter

import httpx
import pytest

from services.launcher import ServiceProcess
from tests.helpers import assert_envelope
from tests.reliability.conftest import ADMIN_TOKEN, side_gateway, wait_until

pytestmark = pytest.mark.e2e


class Traffic:
    """Client threads sending `body(i)` to `url` in a loop until stopped; every answer is kept."""

    def __init__(self, url: str, body, clients: int = 2, timeout_s: float = 60) -> None:
        self.url, self.body, self.timeout_s = url, body, timeout_s
        self.answers: list[tuple[int, dict]] = []
        self.errors: list[str] = []  # transport errors and timeouts: a hung or dropped client
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(n,)) for n in range(clients)]

    def _run(self, n: int) -> None:
        i = n * 1_000_000
        with httpx.Client(timeout=self.timeout_s) as http:
            while not self._stop.is_set():
                i += 1
                try:
                    answer = http.post(self.url, json=self.body(i))
                    record = (answer.status_code, answer.json())
                except (httpx.HTTPError, ValueError) as exc:
                    with self._lock:
                        self.errors.append(f"{exc.__class__.__name__}: {exc}")
                    continue
                with self._lock:
                    self.answers.append(record)

    def count(self, predicate) -> int:
        with self._lock:
            return sum(1 for status, body in self.answers if predicate(status, body))

    def wait_for(self, predicate, n: int, what: str, deadline_s: float = 60) -> None:
        """Wait until `n` more answers than now satisfy `predicate`."""
        start = self.count(predicate)
        wait_until(lambda: self.count(predicate) >= start + n, deadline_s, what)

    def __enter__(self) -> Traffic:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=self.timeout_s + 10)

    @property
    def statuses(self) -> Counter:
        with self._lock:
            return Counter(status for status, _ in self.answers)


def healthy(status, body) -> bool:
    return status == 200 and body.get("degraded") == []


def degraded(status, body) -> bool:
    return status == 200 and body.get("degraded") == ["captioning"]


def test_captioning_dies_during_traffic_answers_degrade_then_recover(reliability_stack):
    stack = reliability_stack
    # Distinct texts: every request is a cache miss that really calls captioning.
    body = lambda i: {"text": f"sekar bunga {i}", "generate": False, "top_k": 2}  # noqa: E731
    try:
        with Traffic(stack.url("gateway") + "/v1/rag", body) as traffic:
            traffic.wait_for(healthy, 3, "healthy answers before the fault")
            stack.stop("captioning", kill=True)  # a crash: no goodbye, the port just closes
            traffic.wait_for(degraded, 3, "degraded answers while captioning is down")
            stack.restart("captioning")
            # The breaker probes again after GATEWAY_BREAKER_RESET_S=1: answers heal on their own.
            traffic.wait_for(healthy, 3, "healthy answers after captioning is back")
    finally:
        if stack.services["captioning"].process.poll() is not None:
            stack.restart("captioning")
    assert not traffic.errors, traffic.errors[:3]
    assert set(traffic.statuses) == {200}, traffic.statuses
    assert traffic.count(degraded) >= 3


def test_redis_stops_and_restarts_no_5xx_and_caching_resumes(reliability_stack):
    stack = reliability_stack
    gateway, generation = stack.url("gateway"), stack.url("generation")

    def rag(text: str) -> dict:
        answer = httpx.post(
            f"{gateway}/v1/rag", json={"text": text, "generate": False, "top_k": 2}, timeout=60
        )
        assert answer.status_code == 200, answer.text
        return answer.json()

    assert rag("redis before")["cache"]["hit"] is False
    assert rag("redis before")["cache"]["hit"] is True
    stack.redis.stop()
    try:
        # Served uncached (and the rate limiter lets requests through): never a 5xx.
        assert rag("redis before")["cache"]["hit"] is False
        assert [rag("redis down")["cache"]["hit"] for _ in range(2)] == [False, False]
        # Jobs need Redis: 503 in the envelope; the synchronous route does not.
        job = {"prompt": "batik", "width": 64, "height": 64, "steps": 2}
        assert_envelope(
            httpx.post(f"{generation}/v1/jobs", json=job, timeout=60), 503, "no_job_store"
        )
        assert httpx.post(f"{generation}/v1/generate", json=job, timeout=60).status_code == 200
    finally:
        stack.redis.start()  # same port, empty: as after a Redis restart without persistence
    # Reconnects on its own: the same request is stored again, then answered from the cache.
    wait_until(lambda: rag("redis after")["cache"]["hit"], 30, "a cache hit after Redis is back")
    for name in ("gateway", "generation"):
        assert stack.services[name].process.poll() is None, f"{name} died with Redis"
    # The generation's job worker reconnected too: a job submitted now runs to the end.
    created = httpx.post(f"{generation}/v1/jobs", json=job, timeout=60)
    assert created.status_code == 202, created.text
    status_url = generation + created.json()["status_url"]
    done = ("succeeded", "failed", "cancelled")
    state = wait_until(
        lambda: (state := httpx.get(status_url, timeout=10).json()["state"]) in done and state,
        60,
        "the job after Redis came back",
        every_s=0.2,
    )
    assert state == "succeeded"


@pytest.fixture(scope="module")
def short_gateway(reliability_stack, tiny_models, tmp_path_factory):
    """A second gateway process on the same upstreams, whose generation timeout is shorter than a
    generation at its image size (256 px on the tiny SD: seconds on these cores)."""
    env = {"GATEWAY_GENERATION_SIZE": "256", "GATEWAY_GENERATION_TIMEOUT_S": "1"}
    with side_gateway(reliability_stack, tiny_models, "gateway-short", env) as service:
        yield service


def inflight(stack, name: str) -> float:
    return stack.metric(name, "batik_inflight_requests")


# 150 steps (the most a request may ask) at 256 px take several seconds on the tiny SD even on an
# idle machine: 30 steps finished inside the 1 s timeout there and made these tests flaky.
SLOW_RAG = {"text": "truntum", "steps": 150, "strength": 1.0, "init_source": "none", "top_k": 1}


def test_generation_slower_than_its_timeout_is_504_and_nothing_hangs(
    reliability_stack, short_gateway
):
    stack = reliability_stack
    with httpx.Client(base_url=short_gateway.url, timeout=120) as client:
        error = assert_envelope(
            client.post("/v1/rag", json={**SLOW_RAG, "seed": 1}), 504, "upstream_timeout"
        )
        assert "generation did not answer" in error["message"]
        # The gateway let go of the flow, and generation finishes the orphan and frees its slot.
        wait_until(lambda: inflight_of(short_gateway) == 0, 30, "the gateway's flow to end")
        wait_until(lambda: inflight(stack, "generation") == 0, 120, "generation to finish")
        # Both are fine afterwards.
        assert client.post("/v1/rag", json={"text": "x", "generate": False}).status_code == 200
        quick = {"prompt": "batik", "width": 64, "height": 64, "steps": 2}
        assert httpx.post(
            stack.url("generation") + "/v1/generate", json=quick, timeout=60
        ).is_success


def inflight_of(service: ServiceProcess) -> float:
    text = httpx.get(f"{service.url}/metrics", timeout=10).text
    line = next(line for line in text.splitlines() if line.startswith("batik_inflight_requests"))
    return float(line.rsplit(" ", 1)[1])


def sigterm_during_request(service: ServiceProcess, send, in_flight) -> httpx.Response | Exception:
    """Start `send()` in a thread, SIGTERM `service` once `in_flight()` says the request runs."""
    result: list = []
    thread = threading.Thread(target=lambda: result.append(_capture(send)))
    thread.start()
    wait_until(in_flight, 60, f"a request in flight on {service.name}", every_s=0.01)
    service.process.send_signal(signal.SIGTERM)
    thread.join(timeout=180)
    assert not thread.is_alive(), "the client hung after SIGTERM"
    return result[0]


def assert_exited_gracefully(service: ServiceProcess, stack) -> None:
    # uvicorn re-raises the SIGTERM it handled once shut down, so -SIGTERM is a clean exit; the
    # log says the lifespan's shutdown (clients closed, worker stopped) ran to the end.
    assert service.process.wait(timeout=60) in (0, -signal.SIGTERM)
    log = stack.log(service.name).rsplit("Started server process", 1)[-1]
    assert "Application shutdown complete." in log


def _capture(send):
    try:
        return send()
    except httpx.HTTPError as exc:
        return exc


def test_sigterm_to_the_gateway_mid_request_ends_it_cleanly(reliability_stack, short_gateway):
    answer = sigterm_during_request(
        short_gateway,
        lambda: httpx.post(
            f"{short_gateway.url}/v1/rag", json={**SLOW_RAG, "seed": 2}, timeout=120
        ),
        lambda: inflight_of(short_gateway) >= 1,
    )
    # Graceful: the running flow is finished (here: its generation times out) before exit.
    assert isinstance(answer, httpx.Response), answer
    assert_envelope(answer, 504, "upstream_timeout")
    assert_exited_gracefully(short_gateway, reliability_stack)
    wait_until(lambda: inflight(reliability_stack, "generation") == 0, 120, "generation idle")


def test_sigterm_to_generation_mid_request_finishes_it(reliability_stack):
    stack = reliability_stack
    service = stack.services["generation"]
    body = {"prompt": "batik nitik", "width": 256, "height": 256, "steps": 20, "seed": 3}
    rag = {"text": "kawung", "seed": 4, "steps": 4, "strength": 0.5}
    try:
        answer = sigterm_during_request(
            service,
            lambda: httpx.post(f"{service.url}/v1/generate", json=body, timeout=120),
            lambda: inflight(stack, "generation") >= 1,
        )
        assert isinstance(answer, httpx.Response), answer
        assert answer.status_code == 200, answer.text
        assert len(answer.json()["images"]) == 1
        assert_exited_gracefully(service, stack)
        # While it is away, the gateway answers 502 in the envelope, never a 500.
        failed = httpx.post(stack.url("gateway") + "/v1/rag", json=rag, timeout=60)
        assert failed.status_code in (502, 503), failed.text
        assert_envelope(failed, failed.status_code, failed.json()["error"]["type"])
    finally:
        stack.restart("generation")
    # Back on the same port: the breaker's probe finds it and RAG answers come again.
    wait_until(
        lambda: (
            httpx.post(stack.url("gateway") + "/v1/rag", json=rag, timeout=60).status_code == 200
        ),
        30,
        "the gateway to use generation again",
        every_s=0.2,
    )


@pytest.fixture(scope="module")
def second_index(tiny_models, synthetic_dataset, tmp_path_factory):
    """The same photos as an HNSW index: another version, the same ids (rows in the same order)."""
    from services.retrieval.ingest import ingest

    out = tmp_path_factory.mktemp("reload") / "hnsw"
    images, workbook = synthetic_dataset
    ingest(
        images,
        workbook,
        out,
        model_source=str(tiny_models["clip"]),
        progress=False,
        index_type="hnsw",
    )
    return out


def test_index_reload_during_traffic_fails_no_request(
    reliability_stack, synthetic_index, second_index
):
    stack = reliability_stack
    retrieval = stack.url("retrieval")
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}

    def reload(index_dir) -> dict:
        answer = httpx.post(
            f"{retrieval}/v1/index/reload",
            json={"index_dir": str(index_dir)},
            headers=admin,
            timeout=60,
        )
        assert answer.status_code == 200, answer.text
        return answer.json()

    search = lambda i: {"text": f"kawung {i}", "top_k": 3}  # noqa: E731
    rag = lambda i: {"text": f"ceplok {i}", "generate": False, "top_k": 2}  # noqa: E731
    versions = set()
    try:
        with (
            Traffic(f"{retrieval}/v1/search", search, clients=2) as searches,
            Traffic(stack.url("gateway") + "/v1/rag", rag, clients=1) as rags,
        ):
            for index_dir in (second_index, synthetic_index) * 3:
                versions.add(reload(index_dir)["index"]["version"])
                searches.wait_for(lambda s, b: s == 200, 2, "searches after a reload")
            rags.wait_for(lambda s, b: s == 200, 2, "RAG answers during reloads")
            # A bad reload answers its 4xx and the index in service stays.
            bad = httpx.post(
                f"{retrieval}/v1/index/reload",
                json={"index_dir": "/nonexistent/index"},
                headers=admin,
                timeout=60,
            )
            assert_envelope(bad, 404, "not_found")
    finally:
        reload(synthetic_index)
    assert len(versions) == 2
    for traffic in (searches, rags):
        assert not traffic.errors, traffic.errors[:3]
        assert set(traffic.statuses) == {200}, traffic.statuses
    seen = {body["index"]["version"] for _, body in searches.answers}
    assert seen <= versions and len(seen) == 2, seen
