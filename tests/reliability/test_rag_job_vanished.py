"""Issue 16, finding 2: no RAG job stays running for nothing. A RAG job (gateway) runs its generate
step as a generation job (generation service) and polls it. When that generation job vanished (its
job store lost it), the RAG job failed with a misleading `not_found`; and when its gateway died
mid-run, the record stayed `running` until the job's time limit plus a margin (30 min by default),
because arq's in-progress mark outlives the worker. Now a live poll fails the job at once with the
reason, and the watchdog of a restarted gateway fails the orphan within its grace.

Real processes: the stack's gateway restarted with a 1 s watchdog and 256 px images (a 150-step
run lasts seconds), the stack's generation service and Redis.
"""

from __future__ import annotations

import uuid

import httpx
import pytest
import redis

from tests.reliability.conftest import wait_until

pytestmark = pytest.mark.e2e

GENERATION_RECORD = "batik:generation:job:{}"  # services/generation/worker.py NAMESPACE


@pytest.fixture(scope="module")
def watched_gateway(reliability_stack):
    env = {"GATEWAY_JOB_WATCHDOG_S": "1", "GATEWAY_GENERATION_SIZE": "256"}
    with reliability_stack.reconfigured("gateway", env) as stack:
        yield stack


def _long_job(url: str) -> str:
    body = {"text": f"kawung {uuid.uuid4().hex[:8]}", "steps": 150, "strength": 1.0, "seed": 5}
    submitted = httpx.post(f"{url}/v1/jobs", json=body, timeout=30)
    assert submitted.status_code == 202, submitted.text
    return submitted.json()["job_id"]


def _job(url: str, job_id: str) -> dict:
    answer = httpx.get(f"{url}/v1/jobs/{job_id}", timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _generation_job_of(url: str, job_id: str) -> str:
    """The RAG job's generation job, once it is denoising."""

    def denoising():
        job = _job(url, job_id)
        return job if job["generation_job_id"] and job["progress"]["step"] > 0 else None

    job = wait_until(denoising, 90, "the RAG job's generation job to denoise", every_s=0.1)
    assert job["state"] == "running", job
    return job["generation_job_id"]


def _vanish(stack, generation_job_id: str) -> None:
    """The generation service's job store loses the record (a flushed or evicting job Redis)."""
    client = redis.Redis.from_url(stack.redis.url)
    try:
        assert client.delete(GENERATION_RECORD.format(generation_job_id)) == 1
    finally:
        client.close()


def _failed(url: str, job_id: str, deadline_s: float) -> dict:
    return wait_until(
        lambda: (job := _job(url, job_id))["state"] != "running" and job,
        deadline_s,
        "the RAG job to leave `running`",
        every_s=0.2,
    )


def test_a_rag_job_whose_generation_job_vanished_fails_with_the_reason(watched_gateway):
    url = watched_gateway.url("gateway")
    job_id = _long_job(url)
    _vanish(watched_gateway, _generation_job_of(url, job_id))
    job = _failed(url, job_id, 60)
    assert job["state"] == "failed", job
    # An upstream failure, not `not_found`: the RAG job itself is there to be read.
    assert job["error"]["type"] == "upstream", job["error"]
    assert "vanished from the generation service" in job["error"]["message"]


def test_an_orphaned_rag_job_fails_within_the_watchdogs_grace_not_its_time_limit(
    watched_gateway,
):
    stack = watched_gateway
    url = stack.url("gateway")
    job_id = _long_job(url)
    generation_job_id = _generation_job_of(url, job_id)
    stack.stop("gateway", kill=True)  # its worker dies mid-run; arq's in-progress mark stays
    _vanish(stack, generation_job_id)
    stack.restart("gateway")
    # Without the check the record stays `running` for GATEWAY_JOB_TIMEOUT_S + 2 s (1802 s).
    job = _failed(url, job_id, 60)
    assert job["state"] == "failed", job
    assert "vanished from the generation service" in job["error"]["message"], job["error"]
    assert "stranded" in job["error"]["message"]
