"""The gateway in process, calling the three real service apps (tiny models) through httpx's ASGI
transport: uploads, API keys, rate limits, CORS, metrics, Server-Timing, single flight, the breaker and
timeouts. Rate limits shared between replicas use a real Redis; timeouts a real socket that never
answers."""

from __future__ import annotations

import asyncio
import hashlib
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import wait_ready
from tests.helpers import assert_envelope, b64, free_port, gateway_app

QUICK = {"steps": 10, "strength": 0.5}
KEY = "test-key-0123456789"
KEY_HASH = "sha256:" + hashlib.sha256(KEY.encode()).hexdigest()
DEV_ORIGIN = "https://batik.example.com"


@contextmanager
def gateway(tiny_models, apps, **overrides):
    """A ready gateway (see `tests.helpers.gateway_app`) behind a TestClient."""
    app = gateway_app(tiny_models, apps, **overrides)
    with TestClient(app, raise_server_exceptions=False) as client:
        wait_ready(client)
        yield client


def metric(client, name: str, **labels) -> float:
    """A sample's value from the app's /metrics (0 when absent)."""
    text = client.get("/metrics").text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return 0.0


def query_jpeg(synthetic_dataset) -> bytes:
    images, _ = synthetic_dataset
    return (images / "5 Truntum 1.jpg").read_bytes()


# ---- uploads -------------------------------------------------------------------------------------


def test_upload_runs_the_same_flow_as_json(tiny_models, upstream_apps, synthetic_dataset):
    raw = query_jpeg(synthetic_dataset)
    with gateway(tiny_models, upstream_apps) as client:
        answer = client.post(
            "/v1/rag/upload",
            files={"image": ("truntum.jpg", raw, "image/jpeg")},
            data={
                "text": "truntum stars",
                "seed": "4",
                "top_k": "3",
                "steps": "10",
                "strength": "0.5",
            },
        )
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert len(body["references"]) == 3
        assert body["prompt"]["text"].startswith("truntum stars")
        assert len(body["images"]) == 1 and body["seed"] == 4
        # The same request as JSON is the same cache entry: the upload was the same image bytes.
        again = client.post(
            "/v1/rag",
            json={"text": "truntum stars", "image": b64(raw), "seed": 4, "top_k": 3, **QUICK},
        ).json()
        assert again["cache"] == {"hit": True, "key": body["cache"]["key"], "shared": False}
        assert again["images"] == body["images"]


def test_an_engine_value_error_upstream_is_the_callers_422(tiny_models, upstream_apps):
    # Retrieval's engine refuses motif numbers its index does not hold (a ValueError there): the
    # gateway passes the 422 on in its own envelope, not a 500 or a 502.
    with gateway(tiny_models, upstream_apps) as client:
        answer = client.post(
            "/v1/rag", json={"text": "kawung", "motifs": [99999], "generate": False}
        )
        error = assert_envelope(answer, 422, "validation")
        assert "not in this index's metadata" in error["message"]


def test_upload_with_empty_fields_takes_the_defaults(tiny_models, upstream_apps):
    with gateway(tiny_models, upstream_apps) as client:
        answer = client.post(
            "/v1/rag/upload",
            data={"text": "kawung", "seed": "", "top_k": "", "generate": "false"},
        )
        assert answer.status_code == 200, answer.text
        assert len(answer.json()["references"]) == 5 and answer.json()["images"] == []


def test_upload_form_takes_the_retrieval_and_pakem_fields(tiny_models, upstream_apps):
    with gateway(tiny_models, upstream_apps) as client:
        answer = client.post(
            "/v1/rag/upload",
            data={"text": "kawung", "motifs": "3, 5", "dedupe": "false", "top_k": "6",
                  "lexical_weight": "0", "tile": "true", "symmetry": "c4", "seed": "2",
                  "steps": "10"},
        )  # fmt: skip
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert {r["motif"]["number"] for r in body["references"]} <= {3, 5}
        assert len(body["references"]) == 6 and body["symmetry"] == "c4"


def test_upload_form_refuses_what_the_json_body_refuses(tiny_models, upstream_apps):
    # One definition (gateway/upload_form.py): enums, bounds and booleans are the JSON body's.
    with gateway(tiny_models, upstream_apps) as client:
        for field, value in (
            ("preview_repeat", "0"),
            ("symmetry", "d8"),
            ("top_k", "21"),
            ("init_source", "elsewhere"),
            ("save", "yes"),
        ):
            answer = client.post("/v1/rag/upload", data={"text": "kawung", field: value})
            error = assert_envelope(answer, 422, "validation")
            assert [p["loc"] for p in error["details"]] == [["body", field]], error
        # The JSON body refuses the same boolean: 0 is no boolean.
        answer = client.post("/v1/rag", json={"text": "kawung", "preview_repeat": 0})
        error = assert_envelope(answer, 422, "validation")
        assert error["details"][0]["loc"] == ["body", "preview_repeat"]
        # The form's rule checks run as the JSON body's: neither text nor image.
        error = assert_envelope(
            client.post("/v1/rag/upload", data={"seed": "3"}), 422, "validation"
        )
        assert "give `text`, `image` or both" in error["message"]
        # true / false in any case are booleans.
        ok = client.post("/v1/rag/upload", data={"text": "kawung", "generate": "FALSE"})
        assert ok.status_code == 200 and ok.json()["images"] == []


def test_the_repeat_reaches_generation_and_lays_out_the_preview(tiny_models, upstream_apps):
    import base64
    import io

    import numpy as np
    from PIL import Image

    from services.common.repeats import repeat_canvas, seam_ratio

    def rgb(b64_png):
        return np.asarray(Image.open(io.BytesIO(base64.b64decode(b64_png))).convert("RGB"))

    ask = {"text": "kawung", "seed": "3", "steps": "10", "init_source": "none", "tile": "true"}
    with gateway(tiny_models, upstream_apps) as client:
        full = client.post("/v1/rag/upload", data={**ask, "preview_repeat": "true"})
        dropped = client.post(
            "/v1/rag/upload", data={**ask, "repeat": "half_drop", "preview_repeat": "true"}
        )
        assert full.status_code == dropped.status_code == 200, dropped.text
        tile = rgb(dropped.json()["images"][0])
        assert dropped.json()["images"] != full.json()["images"]  # generation got the repeat
        assert seam_ratio(tile, "half_drop") <= 1.1
        preview = rgb(dropped.json()["previews"][0])
        np.testing.assert_array_equal(preview, repeat_canvas(tile, "half_drop", 192, 192))
        for data, needle in (
            ({"repeat": "mirror"}, "repeat"),
            ({"tile": "false", "repeat": "half_brick"}, "tile: true"),
        ):
            error = assert_envelope(
                client.post("/v1/rag/upload", data={**ask, **data}), 422, "validation"
            )
            assert needle in error["message"]


@pytest.mark.parametrize(
    ("files", "data", "status", "kind"),
    [
        ({}, {}, 422, "validation"),
        ({}, {"text": "kawung", "motifs": "3,x"}, 422, "validation"),
        (
            {"image": ("notes.txt", b"No.,Motif\n1,Sekar\n", "text/plain")},
            {},
            415,
            "unsupported_media",
        ),
        ({"image": ("empty.jpg", b"", "image/jpeg")}, {"text": "kawung"}, 422, "validation"),
        ({}, {"text": "kawung", "top_k": "0"}, 422, "validation"),
        ({}, {"text": "kawung", "top_k": "many"}, 422, "validation"),
        ({}, {"text": "kawung", "init_source": "query"}, 422, "validation"),
    ],
)
def test_bad_uploads_are_4xx_envelopes(tiny_models, upstream_apps, files, data, status, kind):
    with gateway(tiny_models, upstream_apps) as client:
        assert_envelope(client.post("/v1/rag/upload", files=files, data=data), status, kind)


def test_an_upload_over_the_byte_cap_is_413(tiny_models, upstream_apps, synthetic_dataset):
    raw = query_jpeg(synthetic_dataset)
    with gateway(tiny_models, upstream_apps, max_upload_bytes=1024) as client:
        assert len(raw) > 1024
        answer = client.post("/v1/rag/upload", files={"image": ("big.jpg", raw, "image/jpeg")})
        assert_envelope(answer, 413, "payload_too_large")


# ---- security ------------------------------------------------------------------------------------


def test_api_keys_401_without_403_wrong_200_right(tiny_models, upstream_apps):
    body = {"text": "kawung", "generate": False}
    with gateway(tiny_models, upstream_apps, api_keys=KEY_HASH) as client:
        missing = client.post("/v1/rag", json=body)
        assert_envelope(missing, 401, "unauthorized")
        assert missing.headers["www-authenticate"] == "ApiKey"
        assert_envelope(
            client.post("/v1/rag", json=body, headers={"X-API-Key": "nope"}), 403, "forbidden"
        )
        assert_envelope(client.post("/v1/rag/upload", data={"text": "kawung"}), 401, "unauthorized")
        assert client.post("/v1/rag", json=body, headers={"X-API-Key": KEY}).status_code == 200
        bearer = {"Authorization": f"Bearer {KEY}"}
        assert client.post("/v1/rag", json=body, headers=bearer).status_code == 200
        # Probes and scrapes stay open.
        assert client.get("/healthz").status_code == 200
        assert client.get("/readyz").status_code == 200
        assert client.get("/metrics").status_code == 200


def test_keys_are_off_when_none_are_configured(tiny_models, upstream_apps):
    with gateway(tiny_models, upstream_apps) as client:
        assert client.post("/v1/rag", json={"text": "kawung", "generate": False}).status_code == 200


def test_settings_refuse_plain_keys():
    from pydantic import ValidationError

    from gateway.config import GatewaySettings

    with pytest.raises(ValidationError, match="store hashes, never keys"):
        GatewaySettings(api_keys=f"{KEY_HASH},{KEY}")


def test_rate_limit_per_key_answers_429_with_retry_after(tiny_models, upstream_apps):
    other = "another-key"
    hashes = f"{KEY_HASH},sha256:{hashlib.sha256(other.encode()).hexdigest()}"
    body = {"text": "kawung", "generate": False}
    with gateway(
        tiny_models,
        upstream_apps,
        api_keys=hashes,
        rate_limit_per_window=2,
        rate_limit_window_s=600,
    ) as client:
        mine = {"X-API-Key": KEY}
        served = [client.post("/v1/rag", json=body, headers=mine) for _ in range(2)]
        assert [answer.status_code for answer in served] == [200, 200]
        # Every answer of a rate-limited route says where the window stands (RateLimit-*).
        assert [a.headers["ratelimit-remaining"] for a in served] == ["1", "0"]
        assert all(a.headers["ratelimit-limit"] == "2" for a in served)
        assert 590 <= int(served[0].headers["ratelimit-reset"]) <= 600
        refused = client.post("/v1/rag", json=body, headers=mine)
        assert_envelope(refused, 429, "overloaded")
        assert 590 <= int(refused.headers["retry-after"]) <= 600
        assert refused.headers["ratelimit-remaining"] == "0"
        assert refused.headers["ratelimit-limit"] == "2"
        # Another key has its own budget.
        theirs = client.post("/v1/rag", json=body, headers={"X-API-Key": other})
        assert theirs.status_code == 200 and theirs.headers["ratelimit-remaining"] == "1"
        # An error raised after the count, on a route that answers bytes, says it as well.
        missing = client.get("/v1/images/99999", headers={"X-API-Key": other})
        assert_envelope(missing, 404, "not_found")
        assert missing.headers["ratelimit-remaining"] == "0"
        assert metric(client, "batik_rate_limited_total") == 1
        # Open routes are not counted, and say nothing of a window.
        assert "ratelimit-limit" not in client.get("/healthz").headers


def test_a_long_large_generation_costs_more_of_the_rate_limit(tiny_models, upstream_apps):
    # Issue 16, finding 8: the limit counts work, not requests. 150 steps at 512x512 cost 5 units
    # (gateway/fairness.py), more than the window's 4, so it is refused before any model runs;
    # another key with the same window is still served a cheap request.
    other = "another-key"
    hashes = f"{KEY_HASH},sha256:{hashlib.sha256(other.encode()).hexdigest()}"
    with gateway(
        tiny_models,
        upstream_apps,
        api_keys=hashes,
        rate_limit_per_window=4,
        rate_limit_window_s=600,
        generation_size=512,
    ) as client:
        mine = {"X-API-Key": KEY}
        cheap = {"text": "kawung", "generate": False}
        assert client.post("/v1/rag", json=cheap, headers=mine).status_code == 200  # 1 unit
        costly = {"text": "kawung", "generate": True, "steps": 150, "init_source": "none"}
        refused = client.post("/v1/rag", json=costly, headers=mine)  # 1 + 1 + 4 units: past 4
        error = assert_envelope(refused, 429, "overloaded")
        assert "steps x pixels" in error["message"]
        assert 590 <= int(refused.headers["retry-after"]) <= 600
        assert client.post("/v1/rag", json=cheap, headers={"X-API-Key": other}).status_code == 200


def test_rate_limit_lives_in_redis_and_binds_every_replica(
    tiny_models, upstream_apps, redis_server
):
    import redis

    redis.Redis.from_url(redis_server.url).flushdb()
    settings = dict(
        api_keys=KEY_HASH,
        rate_limit_per_window=3,
        rate_limit_window_s=120,
        redis_url=redis_server.url,
    )
    body, headers = {"text": "kawung", "generate": False}, {"X-API-Key": KEY}
    with (
        gateway(tiny_models, upstream_apps, **settings) as first,
        gateway(tiny_models, upstream_apps, **settings) as second,
    ):
        statuses = [
            first.post("/v1/rag", json=body, headers=headers).status_code,
            second.post("/v1/rag", json=body, headers=headers).status_code,
            first.post("/v1/rag", json=body, headers=headers).status_code,
        ]
        refused = second.post("/v1/rag", json=body, headers=headers)
    assert statuses == [200, 200, 200]
    assert_envelope(refused, 429, "overloaded")
    assert 1 <= int(refused.headers["retry-after"]) <= 120
    stored = redis.Redis.from_url(redis_server.url).keys("batik:ratelimit:v1:key:*")
    assert len(stored) == 1


def test_cors_answers_only_the_allow_list(tiny_models, upstream_apps):
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "x-api-key,content-type",
    }
    with gateway(
        tiny_models, upstream_apps, cors_origins=f"{DEV_ORIGIN}, http://localhost:8501"
    ) as client:
        allowed = client.options("/v1/rag", headers={"Origin": DEV_ORIGIN, **preflight})
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == DEV_ORIGIN
        assert "x-api-key" in allowed.headers["access-control-allow-headers"].lower()
        denied = client.options("/v1/rag", headers={"Origin": "https://evil.example", **preflight})
        assert denied.status_code == 400
        assert "access-control-allow-origin" not in denied.headers
        simple = client.post(
            "/v1/rag", json={"text": "kawung", "generate": False}, headers={"Origin": DEV_ORIGIN}
        )
        assert simple.headers["access-control-allow-origin"] == DEV_ORIGIN
        exposed = simple.headers["access-control-expose-headers"].lower()
        assert "server-timing" in exposed and "x-request-id" in exposed
    with gateway(tiny_models, upstream_apps) as client:
        answer = client.options("/v1/rag", headers={"Origin": DEV_ORIGIN, **preflight})
        assert "access-control-allow-origin" not in answer.headers


def test_cors_wildcard_never_allows_credentials(tiny_models, upstream_apps):
    with gateway(tiny_models, upstream_apps, cors_origins="*") as client:
        answer = client.post(
            "/v1/rag", json={"text": "kawung", "generate": False}, headers={"Origin": DEV_ORIGIN}
        )
        assert answer.headers["access-control-allow-origin"] == "*"
        assert "access-control-allow-credentials" not in answer.headers


# ---- observability -------------------------------------------------------------------------------


def test_metrics_count_requests_stages_and_cache(tiny_models, upstream_apps, retrieval_client):
    searches_before = metric(
        retrieval_client, "batik_http_requests_total", route="/v1/search", status="200"
    )
    with gateway(tiny_models, upstream_apps) as client:
        body = {"text": "sekar jagad", "seed": 9, **QUICK}
        first = client.post("/v1/rag", json=body)
        second = client.post("/v1/rag", json=body)
        assert_envelope(client.post("/v1/rag", json={}), 422, "validation")
        client.get("/no/such/path")
        assert (first.status_code, second.status_code) == (200, 200)

        def count(**labels) -> float:
            return metric(client, "batik_http_requests_total", **labels)

        assert count(route="/v1/rag", method="POST", status="200", service="gateway") == 2
        assert count(route="/v1/rag", status="422") == 1
        assert count(route="unmatched", status="404") == 1
        assert metric(client, "batik_cache_requests_total", result="miss") == 1
        assert metric(client, "batik_cache_requests_total", result="hit") == 1
        for stage in ("retrieval", "captioning", "fusion", "generation"):
            assert metric(client, "batik_stage_duration_seconds_count", stage=stage) == 1, stage
        assert metric(client, "batik_http_request_duration_seconds_count", route="/v1/rag") == 3
        assert metric(client, "batik_breaker_state", upstream="generation") == 0
        assert metric(client, "batik_inflight_requests", service="gateway") == 0
        assert metric(client, "batik_max_inflight", service="gateway") == 32
    searches = metric(
        retrieval_client, "batik_http_requests_total", route="/v1/search", status="200"
    )
    assert searches == searches_before + 1  # the model services count too


def test_server_timing_names_every_stage(tiny_models, upstream_apps):
    with gateway(tiny_models, upstream_apps) as client:
        body = {"text": "cakar ayam", "seed": 2, **QUICK}
        miss = client.post("/v1/rag", json=body)
        hit = client.post("/v1/rag", json=body)
    entries = dict(part.strip().split(";", 1) for part in miss.headers["server-timing"].split(","))
    assert list(entries) == [
        "cache",
        "retrieval",
        "reference",
        "captioning",
        "fusion",
        "generation",
        "total",
    ]
    assert entries["cache"].startswith('desc="miss";dur=')
    total = float(entries["total"].removeprefix("dur="))
    assert total == pytest.approx(miss.json()["timings_ms"]["total"])
    assert hit.headers["server-timing"].startswith('cache;desc="hit";dur=')


# ---- resilience ----------------------------------------------------------------------------------


class Gate:
    """Wraps an upstream app and holds its calls to `path` until `opened` is set."""

    def __init__(self, app, path: str) -> None:
        self.app, self.path = app, path
        self.opened = False

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["path"] == self.path:
            deadline = time.monotonic() + 60
            while not self.opened and time.monotonic() < deadline:
                await asyncio.sleep(0.005)
        await self.app(scope, receive, send)


def test_single_flight_identical_concurrent_requests_call_upstream_once(
    tiny_models, upstream_apps, retrieval_client, generation_client
):
    n = 8
    gate = Gate(upstream_apps["generation"], "/v1/generate")
    apps = {**upstream_apps, "generation": gate}

    def calls(client, route: str) -> float:
        return metric(client, "batik_http_requests_total", route=route)

    before = calls(retrieval_client, "/v1/search"), calls(generation_client, "/v1/generate")
    with gateway(tiny_models, apps) as client:
        flights = client.app.state.engine.orchestrator.flights
        body = {"text": "truntum stars", "seed": 31, **QUICK}
        with ThreadPoolExecutor(n) as pool:
            futures = [pool.submit(client.post, "/v1/rag", json=body) for _ in range(n)]
            # Hold the one generation until every other request has joined its flight.
            deadline = time.monotonic() + 60
            while flights.shared < n - 1:
                assert time.monotonic() < deadline, f"only {flights.shared} joined"
                time.sleep(0.01)
            gate.opened = True
            answers = [f.result() for f in futures]
        shared_metric = metric(client, "batik_cache_requests_total", result="shared")
    assert [a.status_code for a in answers] == [200] * n
    bodies = [a.json() for a in answers]
    assert sorted(b["cache"]["shared"] for b in bodies) == [False] + [True] * (n - 1)
    assert len({b["images"][0] for b in bodies}) == 1
    after = calls(retrieval_client, "/v1/search"), calls(generation_client, "/v1/generate")
    assert after == (before[0] + 1, before[1] + 1)
    assert shared_metric == n - 1


def test_breaker_opens_on_a_dead_upstream_and_answers_503_at_once(tiny_models, upstream_apps):
    dead = f"http://127.0.0.1:{free_port()}"
    apps = {k: v for k, v in upstream_apps.items() if k != "retrieval"}
    with gateway(
        tiny_models, apps, retrieval_url=dead, breaker_failures=2, breaker_reset_s=300
    ) as client:
        body = {"text": "kawung", "generate": False}
        for _ in range(2):
            assert_envelope(client.post("/v1/rag", json=body), 502, "upstream")
        refused = client.post("/v1/rag", json=body)
        error = assert_envelope(refused, 503, "breaker_open")
        assert "circuit breaker is open" in error["message"]
        assert 290 <= int(refused.headers["retry-after"]) <= 300
        assert metric(client, "batik_breaker_state", upstream="retrieval") == 2
        assert metric(client, "batik_breaker_opened_total", upstream="retrieval") == 1
        assert client.get("/v1/status").json()["breakers"]["retrieval"] == "open"  # not in /readyz


@contextmanager
def silent_port():
    """A port that accepts connections and never answers: a hung upstream, over real TCP."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_a_hung_generation_is_504_in_the_envelope(tiny_models, upstream_apps):
    apps = {k: v for k, v in upstream_apps.items() if k != "generation"}
    with (
        silent_port() as hung,
        gateway(tiny_models, apps, generation_url=hung, generation_timeout_s=0.3) as client,
    ):
        answer = client.post("/v1/rag", json={"text": "kawung", "seed": 1, **QUICK})
        error = assert_envelope(answer, 504, "upstream_timeout")
        assert error["message"] == "generation did not answer within 0.3 s"


def test_openapi_declares_the_gateway_errors(tiny_models, upstream_apps):
    with gateway(tiny_models, upstream_apps) as client:
        paths = client.get("/openapi.json").json()["paths"]
    for route in ("/v1/rag", "/v1/rag/upload"):
        declared = set(paths[route]["post"]["responses"])
        assert {"200", "401", "403", "413", "415", "422", "429", "502", "503", "504"} <= declared
    upload = paths["/v1/rag/upload"]["post"]["requestBody"]["content"]
    assert "multipart/form-data" in upload
    assert "/metrics" in paths


def test_reference_images_come_through_the_gateway(tiny_models, upstream_apps):
    with gateway(tiny_models, upstream_apps, api_keys=KEY_HASH) as client:
        headers = {"X-API-Key": KEY}
        photo = client.get("/v1/images/0", params={"size": 224}, headers=headers)
        assert photo.status_code == 200 and photo.headers["content-type"] == "image/jpeg"
        assert photo.content[:2] == b"\xff\xd8"
        assert_envelope(client.get("/v1/images/0"), 401, "unauthorized")
        assert_envelope(client.get("/v1/images/99999", headers=headers), 404, "not_found")
        assert_envelope(client.get("/v1/images/0?size=300", headers=headers), 422, "validation")


def test_reference_images_are_bound_to_the_answers_index_version(tiny_models, upstream_apps):
    with gateway(tiny_models, upstream_apps, api_keys=KEY_HASH) as client:
        headers = {"X-API-Key": KEY}
        answer = client.post(
            "/v1/rag", json={"text": "sekar", "generate": False}, headers=headers
        ).json()
        version = answer["index_version"]
        served = upstream_apps["retrieval"].state.engine.served.status().version
        assert version == served
        item = answer["references"][0]["id"]
        params = {"size": 224, "index_version": version}
        photo = client.get(f"/v1/images/{item}", params=params, headers=headers)
        assert photo.status_code == 200
        assert photo.headers["etag"] == f'"{version}-224-{item}"'
        # The URL names the version, and another version is a 404: safe to keep for a day.
        assert photo.headers["cache-control"] == "private, max-age=86400, immutable"
        again = client.get(
            f"/v1/images/{item}",
            params=params,
            headers={**headers, "If-None-Match": photo.headers["etag"]},
        )
        assert again.status_code == 304 and again.content == b""
        stale = {"size": 224, "index_version": "an-older-version"}
        error = assert_envelope(
            client.get(f"/v1/images/{item}", params=stale, headers=headers), 404, "not_found"
        )
        assert "search again" in error["message"]
        # Without the version the same id may name another photo after a reload: revalidate.
        bare = client.get(f"/v1/images/{item}", params={"size": 224}, headers=headers)
        assert bare.headers["cache-control"] == "private, no-cache"
        assert bare.headers["etag"] == photo.headers["etag"]
