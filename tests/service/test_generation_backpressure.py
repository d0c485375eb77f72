"""The synchronous route under concurrent traffic: per-request samplers that do not disturb each
other, a bounded wait, and the request limits."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from tests.conftest import wait_ready
from tests.helpers import assert_envelope

BASE = {"prompt": "batik nitik dotted flower", "width": 64, "height": 64, "steps": 10, "seed": 7}
SCHEDULERS = ["ddim", "pndm", "euler", "euler_a", "dpmpp_2m"]


def client_for(tiny_models, **overrides) -> TestClient:
    from services.generation.app import create_app
    from services.generation.config import GenerationSettings

    settings = GenerationSettings(model=str(tiny_models["sd"]), **overrides)
    return TestClient(create_app(settings), raise_server_exceptions=False)


def generate(client, **overrides) -> dict:
    answer = client.post("/v1/generate", json={**BASE, **overrides})
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_concurrent_samplers_give_the_bytes_they_give_alone(tiny_models):
    with client_for(tiny_models, max_inflight=16) as client:
        wait_ready(client)
        requests = [{"scheduler": name, "seed": 7 + i % 2} for i, name in enumerate(SCHEDULERS * 2)]
        alone = [generate(client, **r)["images"] for r in requests]
        with ThreadPoolExecutor(len(requests)) as pool:
            together = list(pool.map(lambda r: generate(client, **r)["images"], requests))
    assert together == alone
    assert len({tuple(images) for images in alone}) == len(requests)  # each request really differs


def test_a_full_wait_queue_answers_429_and_the_queued_ones_finish(tiny_models):
    """max_inflight=2: one call runs, one waits for the pipeline, the third is refused at once."""
    with client_for(tiny_models, max_inflight=2) as client:
        wait_ready(client)
        limiter = client.app.state.limiter
        long = {"steps": 150, "width": 128, "height": 128}
        with ThreadPoolExecutor(2) as pool:
            running = pool.submit(generate, client, **long)
            deadline = time.monotonic() + 60
            while limiter.inflight < 1:
                assert time.monotonic() < deadline
                time.sleep(0.005)
            waiting = pool.submit(generate, client)
            while limiter.inflight < 2:
                assert time.monotonic() < deadline
                time.sleep(0.005)
            refused = client.post("/v1/generate", json=BASE)
            assert not running.done(), "the long call ended before the test could fill the queue"
            assert_envelope(refused, 429, "overloaded")
            assert int(refused.headers["retry-after"]) >= 1
            assert len(running.result()["images"]) == 1
            assert waiting.result()["images"] == generate(client)["images"]


def test_num_images_reports_every_seed(generation_client):
    body = generate(generation_client, num_images=3, seed=40)
    assert body["seeds"] == [40, 41, 42] and body["seed"] == 40 and len(body["images"]) == 3
    assert generate(generation_client, seed=42)["images"][0] == body["images"][2]


def test_the_answer_names_the_sampler(generation_client):
    assert generate(generation_client)["scheduler"] == "ddim"  # the tiny model's own
    assert generate(generation_client, scheduler="euler_a")["scheduler"] == "euler_a"


@pytest.mark.parametrize(
    ("overrides", "needle"),
    [
        ({"scheduler": "heun"}, "scheduler"),
        ({"scheduler": ""}, "scheduler"),
        ({"num_images": 5}, "at most 4"),
        ({"num_images": 0}, "num_images"),
        ({"width": 513}, "width"),
        ({"height": 1032}, "height"),
    ],
)
def test_out_of_range_requests_are_422(generation_client, overrides, needle):
    error = assert_envelope(
        generation_client.post("/v1/generate", json={**BASE, **overrides}), 422, "validation"
    )
    assert needle in error["message"]


def test_openapi_lists_the_samplers(generation_client):
    schema = generation_client.get("/openapi.json").json()["components"]["schemas"]
    request = schema["GenerateRequest"]["properties"]
    ref = next(v["$ref"] for v in request["scheduler"]["anyOf"] if "$ref" in v)
    names = schema[ref.rsplit("/", 1)[-1]]["enum"]  # a named enum, shared by every route
    assert names == SCHEDULERS
    assert request["num_images"]["maximum"] == 8
