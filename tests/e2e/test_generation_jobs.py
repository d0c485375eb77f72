"""Generation jobs across processes: an API process (uvicorn, no worker), a `batik worker generation`
process, and a second API replica in this test process, all on one real Redis.

A job created through one process is read and cancelled through another, runs in a third, outlives
the process that accepted it, and goes back to the queue when its worker is stopped mid-run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid

import httpx
import pytest
import redis
from fastapi.testclient import TestClient

from services.launcher import REPO_ROOT, ServiceProcess, wait_ready
from tests.conftest import wait_ready as wait_client_ready
from tests.helpers import finished, free_port, poll_job

pytestmark = pytest.mark.e2e

BASE = {"prompt": "batik nitik dotted flower", "width": 64, "height": 64, "steps": 10, "seed": 7}
LONG = {**BASE, "steps": 150, "width": 128, "height": 128}


class WorkerProcess:
    """`python -m services.cli worker generation`, ready once arq has written its health key."""

    def __init__(self, env: dict[str, str], log_path) -> None:
        self.env, self.log_path, self.process = env, log_path, None

    def start(self) -> WorkerProcess:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "services.cli", "worker", "generation"],
            env=self.env,
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        client = redis.Redis.from_url(self.env["GENERATION_REDIS_URL"])
        health = self.env["GENERATION_JOB_QUEUE_NAME"] + ":health-check"
        deadline = time.monotonic() + 180
        while not client.exists(health):
            assert self.process.poll() is None, self.log_path.read_text()[-3000:]
            assert time.monotonic() < deadline, "worker not ready"
            time.sleep(0.1)
        return self

    def stop(self, sig=signal.SIGTERM) -> int:
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                return self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
        return self.process.wait() if self.process else 0


@pytest.fixture(scope="module")
def cluster(tiny_models, redis_server, tmp_path_factory):
    queue = f"e2e:queue:{uuid.uuid4().hex}"
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "HF_HUB_OFFLINE": "1",
        "PYTHONUNBUFFERED": "1",
        "GENERATION_TORCH_THREADS": "1",
        "GENERATION_MODEL": str(tiny_models["sd"]),
        "GENERATION_REDIS_URL": redis_server.url,
        "GENERATION_JOB_QUEUE_NAME": queue,
        "GENERATION_JOB_POLL_S": "0.05",
    }
    logs = tmp_path_factory.mktemp("generation-jobs-logs")
    api = ServiceProcess(
        "generation-api",
        "services.generation.app:app",
        free_port(),
        {"GENERATION_JOB_WORKER": "false"},
    )
    api.start(env, logs)
    # Tests replace the worker (a restart): teardown stops whichever one is current.
    state = {"worker": WorkerProcess(env, logs / "worker.log"), "env": env, "logs": logs}
    try:
        wait_ready([api], deadline_s=180)
        state["worker"].start()
        from services.generation.app import create_app
        from services.generation.config import GenerationSettings

        replica_settings = GenerationSettings(
            model=str(tiny_models["sd"]),
            redis_url=redis_server.url,
            job_queue_name=queue,
            job_worker=False,
        )
        with (
            httpx.Client(base_url=api.url, timeout=60) as http,
            TestClient(create_app(replica_settings), raise_server_exceptions=False) as replica,
        ):
            wait_client_ready(replica)
            state.update(api=http, api_process=api, replica=replica)
            yield state
    except Exception:
        for name in ("generation-api.log", "worker.log"):
            if (logs / name).exists():
                print(f"--- {name} ---\n{(logs / name).read_text(errors='replace')[-3000:]}")
        raise
    finally:
        state["worker"].stop()
        api.stop()


def submit(client, body) -> str:
    answer = client.post("/v1/jobs", json=body)
    assert answer.status_code == 202, answer.text
    return answer.json()["job_id"]


def test_created_in_one_process_run_in_another_read_in_a_third(cluster):
    job_id = submit(cluster["api"], BASE)
    done = poll_job(cluster["replica"], job_id, finished)[-1]
    assert done["state"] == "succeeded", done
    via_api = cluster["api"].get(f"/v1/jobs/{job_id}/images/0")
    via_replica = cluster["replica"].get(f"/v1/jobs/{job_id}/images/0")
    assert via_api.status_code == via_replica.status_code == 200
    assert via_api.content == via_replica.content and via_api.content[:4] == b"\x89PNG"
    # Neither API process runs jobs: the worker process did.
    assert job_id in (cluster["logs"] / "worker.log").read_text()


def test_cancelled_through_another_process_while_running(cluster):
    job_id = submit(cluster["api"], LONG)
    poll_job(cluster["replica"], job_id, lambda r: r["progress"]["step"] >= 2)
    answer = cluster["replica"].delete(f"/v1/jobs/{job_id}")
    assert answer.status_code == 200 and answer.json()["cancel_requested"] is True
    seen_at_cancel = answer.json()["progress"]["step"]
    final = poll_job(cluster["api"], job_id, finished)[-1]
    assert final["state"] == "cancelled", final
    # One Redis round trip per step: the run stops at the step after the one that saw the flag.
    assert final["progress"]["step"] <= seen_at_cancel + 2 < final["progress"]["total"]


def test_a_stopped_worker_gives_the_job_back_and_the_next_one_finishes_it(cluster):
    job_id = submit(cluster["api"], LONG)
    poll_job(cluster["api"], job_id, lambda r: r["progress"]["step"] >= 2)
    assert cluster["worker"].stop(signal.SIGTERM) == 0
    record = cluster["api"].get(f"/v1/jobs/{job_id}").json()
    assert record["state"] == "queued" and record["progress"]["step"] == 0, record
    cluster["worker"] = WorkerProcess(cluster["env"], cluster["logs"] / "worker.log").start()
    done = poll_job(cluster["api"], job_id, finished, deadline_s=180)[-1]
    assert done["state"] == "succeeded", done
    assert done["progress"]["step"] == done["progress"]["total"] == 150


def test_a_job_outlives_the_process_that_accepted_it(cluster):
    job_id = submit(cluster["api"], BASE)
    cluster["api_process"].stop()
    done = poll_job(cluster["replica"], job_id, finished)[-1]
    assert done["state"] == "succeeded", done
    assert cluster["replica"].get(f"/v1/jobs/{job_id}/images/0").status_code == 200
