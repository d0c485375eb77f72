"""End to end over real HTTP: gateway -> retrieval, captioning, generation; Redis as the cache.

Failure cases use a second gateway built in this process (`create_app`) that points at the same live
upstream processes, with one dependency pointed at a closed port: real HTTP, real failures.
"""

from __future__ import annotations

import base64
import io

import httpx
import pytest
import redis
from fastapi.testclient import TestClient
from PIL import Image

from tests.conftest import wait_ready
from tests.e2e.conftest import UPSTREAMS, url_of
from tests.helpers import assert_envelope, b64, bad_image_corpus, free_port, gateway_app

pytestmark = pytest.mark.e2e

QUICK = {"steps": 10, "strength": 0.5}


@pytest.fixture(scope="module")
def gateway(running_stack):
    with httpx.Client(base_url=url_of(running_stack, "gateway"), timeout=120) as client:
        yield client


def rag(client, **body) -> dict:
    answer = client.post("/v1/rag", json={**QUICK, **body})
    assert answer.status_code == 200, answer.text
    return answer.json()


def png(b64_png: str) -> Image.Image:
    image = Image.open(io.BytesIO(base64.b64decode(b64_png)))
    assert image.format == "PNG"
    return image


def test_text_query_runs_the_whole_flow(gateway, running_stack):
    answer = gateway.post(
        "/v1/rag",
        json={"text": "sekar bunga", "seed": 7, **QUICK},
        headers={"X-Request-ID": "e2e-trace-0001"},
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert len(body["references"]) == 5
    # Text queries rank by the fusion of the visual and lexical channels; `score` stays the cosine.
    fused = [r["fused_score"] for r in body["references"]]
    assert fused == sorted(fused, reverse=True)
    assert all(-1.0 <= r["score"] <= 1.0 for r in body["references"])
    assert body["prompt"]["tokens"] <= 77
    assert body["prompt"]["text"].startswith("sekar bunga, Batik Nitik ")
    top_name = body["references"][0]["motif"]["name"]
    assert f"Batik Nitik {top_name} motif" in body["prompt"]["text"]
    assert [p["source"] for p in body["prompt"]["parts"]][:2] == ["query", "motif"]
    assert len(body["images"]) == 1 and png(body["images"][0]).size == (64, 64)
    assert body["mode"] == "img2img" and body["seed"] == 7
    assert body["degraded"] == [] and body["cache"]["hit"] is False
    assert body["captions"][0]["reference_id"] == body["references"][0]["id"]
    assert {"retrieval", "captioning", "fusion", "generation", "total"} <= set(body["timings_ms"])
    # The gateway forwarded the request id: the upstreams logged the same one.
    for upstream in ("retrieval", "captioning", "generation"):
        log = (running_stack["logs"] / f"{upstream}.log").read_text()
        assert "e2e-trace-0001" in log, upstream


def test_repeat_is_a_redis_cache_hit_with_identical_bytes(gateway, stack_redis):
    first = rag(gateway, text="kawung nitik circles", seed=11)
    second = rag(gateway, text="  Kawung Nitik   circles ", seed=11)
    assert first["cache"]["hit"] is False
    assert second["cache"]["hit"] is True
    assert second["images"] == first["images"]
    assert second["references"] == first["references"]
    stored = redis.Redis.from_url(stack_redis.url).get(f"batik:rag:v1:{first['cache']['key']}")
    assert stored is not None
    # Another seed is another answer.
    assert rag(gateway, text="kawung nitik circles", seed=12)["cache"]["hit"] is False


def test_init_sources(gateway, synthetic_dataset):
    images, _ = synthetic_dataset
    query = b64((images / "5 Truntum 1.jpg").read_bytes())
    from_query = rag(gateway, image=query, init_source="query", seed=3)
    assert from_query["mode"] == "img2img"
    assert from_query["references"][0]["motif"]["number"] == 5
    assert from_query["captions"][0]["reference_id"] is None
    txt2img = rag(gateway, text="truntum stars", init_source="none", seed=3)
    assert txt2img["mode"] == "txt2img" and len(txt2img["images"]) == 1
    retrieval_only = rag(gateway, text="truntum stars", generate=False, top_k=3)
    assert retrieval_only["images"] == [] and retrieval_only["seed"] is None
    assert (
        len(retrieval_only["references"]) == 3 and "generation" not in retrieval_only["timings_ms"]
    )


@pytest.mark.parametrize(
    ("body", "status", "kind"),
    [
        ({}, 422, "validation"),
        ({"text": ""}, 422, "validation"),
        ({"text": "kawung", "top_k": 0}, 422, "validation"),
        ({"text": "kawung", "strength": 2}, 422, "validation"),
        ({"text": "kawung", "steps": 1, "strength": 0.5}, 422, "validation"),
        ({"text": "kawung", "init_source": "query"}, 422, "validation"),
        ({"text": "kawung", "init_source": "elsewhere"}, 422, "validation"),
    ],
)
def test_bad_requests_at_the_gateway(gateway, body, status, kind):
    assert_envelope(gateway.post("/v1/rag", json=body), status, kind)


@pytest.mark.parametrize(("name", "case"), bad_image_corpus().items())
def test_bad_images_at_the_gateway(gateway, name, case):
    payload, status, kind = case
    assert_envelope(gateway.post("/v1/rag", json={"image": payload}), status, kind)


def test_malformed_json_at_the_gateway(gateway):
    answer = gateway.post(
        "/v1/rag", content=b'{"text": ', headers={"content-type": "application/json"}
    )
    assert_envelope(answer, 422, "validation")


def in_process_gateway(running_stack, tiny_models, **overrides) -> TestClient:
    """A gateway built in this process, reaching the live upstream processes over HTTP."""
    live = {f"{name}_url": url_of(running_stack, name) for name in UPSTREAMS}
    app = gateway_app(tiny_models, {}, **{**live, **overrides})
    return TestClient(app, raise_server_exceptions=False)


def test_captioning_down_degrades_and_is_not_cached(running_stack, tiny_models):
    dead = f"http://127.0.0.1:{free_port()}"
    with in_process_gateway(running_stack, tiny_models, captioning_url=dead) as client:
        wait_ready(client)
        for _ in range(2):
            answer = client.post("/v1/rag", json={"text": "sekar bunga", "seed": 5, **QUICK})
            assert answer.status_code == 200, answer.text
            body = answer.json()
            assert body["degraded"] == ["captioning"]
            assert body["captions"] == []
            assert body["cache"]["hit"] is False  # a degraded answer is never cached
            assert len(body["images"]) == 1
            assert [p["source"] for p in body["prompt"]["parts"]][:2] == ["query", "motif"]


def test_redis_down_still_answers_uncached(running_stack, tiny_models):
    dead = f"redis://127.0.0.1:{free_port()}/0"
    with in_process_gateway(running_stack, tiny_models, redis_url=dead) as client:
        wait_ready(client)
        hits = []
        for _ in range(2):
            answer = client.post("/v1/rag", json={"text": "cakar ayam", "seed": 5, **QUICK})
            assert answer.status_code == 200, answer.text
            hits.append(answer.json()["cache"]["hit"])
        assert hits == [False, False]


def test_retrieval_down_is_502_and_slow_generation_is_504(running_stack, tiny_models):
    dead = f"http://127.0.0.1:{free_port()}"
    with in_process_gateway(running_stack, tiny_models, retrieval_url=dead) as client:
        wait_ready(client)
        error = assert_envelope(client.post("/v1/rag", json={"text": "x"}), 502, "upstream")
        assert "retrieval is unreachable" in error["message"]
    with in_process_gateway(running_stack, tiny_models, generation_timeout_s=0.001) as client:
        wait_ready(client)
        error = assert_envelope(
            client.post("/v1/rag", json={"text": "x", "seed": 1, **QUICK}), 504, "upstream_timeout"
        )
        assert "generation did not answer" in error["message"]


def test_tiled_symmetric_motif_with_its_repeat_preview(gateway):
    from services.common.repeats import seam_ratio
    from services.generation.pakem import symmetry_error

    body = rag(gateway, text="kawung nitik", seed=9, tile=True, symmetry="d4", preview_repeat=True)
    assert body["symmetry"] == "d4"
    tile = png(body["images"][0])
    pixels = __import__("numpy").asarray(tile.convert("RGB"), dtype=float)
    assert symmetry_error(pixels, "d4") <= 1.0
    assert seam_ratio(pixels) <= 1.1
    preview = png(body["previews"][0])
    assert preview.size == (3 * tile.size[0], 3 * tile.size[1])
    assert list(preview.crop((tile.size[0], 0, 2 * tile.size[0], tile.size[1])).getdata()) == list(
        tile.convert("RGB").getdata()
    )
    # The pakem options are part of the cache key: without them it is another answer.
    assert rag(gateway, text="kawung nitik", seed=9)["images"] != body["images"]


def test_auto_symmetry_reports_the_reference_scores(gateway):
    body = rag(gateway, text="kawung nitik", seed=9, symmetry="auto")
    assert body["symmetry"] in {"none", "c2", "c4", "d4"}
    assert set(body["symmetry_scores"]) == {"c2", "c4", "d4"}


def test_bad_pakem_values_at_the_gateway(gateway):
    assert_envelope(
        gateway.post("/v1/rag", json={"text": "x", "symmetry": "c6"}), 422, "validation"
    )
    assert_envelope(
        gateway.post("/v1/rag", json={"text": "x", "control_scale": 5}), 422, "validation"
    )
    # No ControlNet is configured in this stack: the generation service's 422 comes through.
    error = assert_envelope(
        gateway.post("/v1/rag", json={"text": "x", "seed": 1, "control_scale": 1.0, **QUICK}),
        422,
        "validation",
    )
    assert "ControlNet" in error["message"]


def test_retrieval_options_pass_through_the_gateway(gateway):
    body = rag(gateway, text="kawung", generate=False, top_k=8, motifs=[3, 5], dedupe=False)
    assert {r["motif"]["number"] for r in body["references"]} <= {3, 5}
    assert len(body["references"]) == 8  # raw neighbours: rotations of one photo may repeat
    visual = rag(gateway, text="kawung", generate=False, lexical_weight=0.0)
    assert all(r["fused_score"] is None for r in visual["references"])
    assert visual["cache"]["key"] != rag(gateway, text="kawung", generate=False)["cache"]["key"]


def test_stack_redis_stopping_does_not_fail_requests(gateway, stack_redis):
    """Last in this module: it stops the stack's Redis."""
    stack_redis.stop()
    for seed in (21, 21):
        body = rag(gateway, text="sekar jagad", seed=seed)
        assert body["cache"]["hit"] is False and len(body["images"]) == 1
