"""Generation jobs through the service: a real Redis, the in-process arq worker, the tiny SD."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from tests.conftest import wait_ready
from tests.helpers import assert_envelope, b64, finished, image_bytes, poll_job

BASE = {"prompt": "batik nitik dotted flower", "width": 64, "height": 64, "steps": 10, "seed": 7}
INIT = b64(image_bytes(Image.new("RGB", (64, 64), (180, 90, 40))))
# A run long enough (a few seconds on the tiny model) to be seen running and to be cancelled.
LONG = {**BASE, "steps": 150, "width": 128, "height": 128}


def settings_for(tiny_models, redis_server, **overrides):
    from services.generation.config import GenerationSettings

    defaults = {"job_queue_name": f"test:queue:{uuid.uuid4().hex}", "job_poll_s": 0.05}
    return GenerationSettings(
        model=str(tiny_models["sd"]), redis_url=redis_server.url, **{**defaults, **overrides}
    )


@pytest.fixture(scope="module")
def jobs_client(tiny_models, redis_server):
    from services.generation.app import create_app

    settings = settings_for(tiny_models, redis_server)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        wait_ready(client)
        yield client


def submit(client, **overrides) -> str:
    answer = client.post("/v1/jobs", json={**BASE, **overrides})
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert body["state"] == "queued" and answer.headers["location"] == body["status_url"]
    return body["job_id"]


def test_job_lifecycle_progress_and_images(jobs_client):
    job_id = submit(jobs_client, init_image=INIT, steps=80, strength=0.5, num_images=2)
    seen = poll_job(jobs_client, job_id, finished)
    states = [r["state"] for r in seen]
    assert states[-1] == "succeeded", seen[-1]
    assert "running" in states
    steps = [r["progress"]["step"] for r in seen if r["state"] == "running"]
    assert steps == sorted(steps) and len(set(steps)) > 1, steps
    done = seen[-1]
    assert done["progress"] == {"step": 80, "total": 80}  # 2 images x 40 steps at strength 0.5
    result = done["result"]
    assert result["seeds"] == [7, 8] and result["mode"] == "img2img"
    assert result["images"] == [f"/v1/jobs/{job_id}/images/0", f"/v1/jobs/{job_id}/images/1"]
    # The job's PNGs are the bytes the synchronous route gives for the same request.
    sync = jobs_client.post(
        "/v1/generate", json={**BASE, "init_image": INIT, "steps": 80, "strength": 0.5, "seed": 8}
    ).json()
    png = jobs_client.get(result["images"][1])
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert b64(png.content) == sync["images"][0]
    assert_envelope(jobs_client.get(f"/v1/jobs/{job_id}/images/2"), 404, "not_found")


def test_cancel_while_running_stops_within_a_step(jobs_client):
    job_id = submit(jobs_client, **LONG)
    poll_job(jobs_client, job_id, lambda r: r["progress"]["step"] >= 2)
    answer = jobs_client.delete(f"/v1/jobs/{job_id}")
    assert answer.status_code == 200 and answer.json()["cancel_requested"] is True
    step_at_cancel = jobs_client.get(f"/v1/jobs/{job_id}").json()["progress"]["step"]
    final = poll_job(jobs_client, job_id, finished)[-1]
    assert final["state"] == "cancelled", final
    # The worker records a step before it reads the flag: at most one step ran after the cancel
    # was seen, and the run never reached its end.
    assert final["progress"]["step"] <= step_at_cancel + 1 < final["progress"]["total"]
    assert final["result"] is None
    assert_envelope(jobs_client.get(f"/v1/jobs/{job_id}/images/0"), 404, "not_found")
    # The worker is free again: the next job runs to the end.
    next_id = submit(jobs_client)
    assert poll_job(jobs_client, next_id, finished)[-1]["state"] == "succeeded"


def test_cancel_a_queued_job_and_it_never_runs(jobs_client):
    running = submit(jobs_client, **LONG)
    queued = submit(jobs_client)
    answer = jobs_client.delete(f"/v1/jobs/{queued}")
    assert answer.status_code == 200 and answer.json()["state"] == "cancelled"
    jobs_client.delete(f"/v1/jobs/{running}")
    poll_job(jobs_client, running, finished)
    # Give the worker time to reach the queued job: it must skip it, not run it.
    third = submit(jobs_client)
    poll_job(jobs_client, third, finished)
    record = jobs_client.get(f"/v1/jobs/{queued}").json()
    assert record["state"] == "cancelled" and record["progress"]["step"] == 0


def test_a_job_the_worker_refuses_fails_with_the_reason(jobs_client, tiny_models, redis_server):
    """An API replica configured for more images than the worker allows (a rolling change of
    GENERATION_MAX_IMAGES): the job is accepted, and fails in the worker with the reason."""
    from services.generation.app import create_app

    queue_name = jobs_client.app.state.settings.job_queue_name
    settings = settings_for(
        tiny_models, redis_server, job_worker=False, max_images=8, job_queue_name=queue_name
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as replica:
        wait_ready(replica)
        job_id = submit(replica, num_images=6)
        final = poll_job(replica, job_id, finished)[-1]
    assert final["state"] == "failed", final
    assert final["error"]["type"] == "validation" and "at most 4" in final["error"]["message"]
    assert final["result"] is None


@pytest.mark.parametrize(
    ("overrides", "status", "kind", "needle"),
    [
        ({"scheduler": "heun"}, 422, "validation", "scheduler"),
        ({"num_images": 5}, 422, "validation", "at most 4"),
        ({"num_images": 9}, 422, "validation", "num_images"),
        ({"width": 513}, 422, "validation", "width"),
        ({"init_image": "this is not base64!!"}, 422, "validation", "init_image"),
        ({"init_image": b64(b"plain text")}, 415, "unsupported_media", "init_image"),
    ],
)
def test_bad_jobs_are_refused_at_submission(jobs_client, overrides, status, kind, needle):
    error = assert_envelope(jobs_client.post("/v1/jobs", json={**BASE, **overrides}), status, kind)
    assert needle in error["message"]


@pytest.mark.parametrize("job_id", ["0" * 32, "not-a-job", "abc:blob:image-0"])
def test_unknown_jobs_are_404(jobs_client, job_id):
    assert_envelope(jobs_client.get(f"/v1/jobs/{job_id}"), 404, "not_found")
    assert_envelope(jobs_client.delete(f"/v1/jobs/{job_id}"), 404, "not_found")
    assert_envelope(jobs_client.get(f"/v1/jobs/{job_id}/images/0"), 404, "not_found")


def test_job_queue_full_answers_429(tiny_models, redis_server):
    from services.generation.app import create_app

    # No worker: jobs stay queued, so the third one finds the queue full.
    settings = settings_for(tiny_models, redis_server, job_worker=False, job_queue_max=2)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        wait_ready(client)
        submit(client)
        submit(client)
        answer = client.post("/v1/jobs", json=BASE)
        assert_envelope(answer, 429, "overloaded")
        assert int(answer.headers["retry-after"]) > 0


def test_without_redis_jobs_are_503_and_generate_still_works(tiny_models):
    from services.generation.app import create_app
    from services.generation.config import GenerationSettings

    settings = GenerationSettings(model=str(tiny_models["sd"]))
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        wait_ready(client)
        error = assert_envelope(client.post("/v1/jobs", json=BASE), 503, "no_job_store")
        assert "GENERATION_REDIS_URL" in error["message"]
        assert_envelope(client.get(f"/v1/jobs/{'0' * 32}"), 503, "no_job_store")
        assert client.post("/v1/generate", json=BASE).status_code == 200


def test_redis_down_is_503_not_500(tiny_models):
    from services.generation.app import create_app
    from services.generation.config import GenerationSettings
    from tests.helpers import free_port

    settings = GenerationSettings(
        model=str(tiny_models["sd"]),
        redis_url=f"redis://127.0.0.1:{free_port()}/0",
        job_worker=False,
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        wait_ready(client)
        error = assert_envelope(client.post("/v1/jobs", json=BASE), 503, "no_job_store")
        assert "Redis" in error["message"]


def test_openapi_declares_the_job_routes_and_their_errors(jobs_client):
    paths = jobs_client.get("/openapi.json").json()["paths"]
    assert set(paths["/v1/jobs"]["post"]["responses"]) >= {"202", "422", "429", "503"}
    assert set(paths["/v1/jobs/{job_id}"]["get"]["responses"]) >= {"200", "404", "503"}
    assert set(paths["/v1/jobs/{job_id}"]["delete"]["responses"]) >= {"200", "404"}
    image = paths["/v1/jobs/{job_id}/images/{n}"]["get"]["responses"]
    assert "image/png" in image["200"]["content"] and "404" in image
