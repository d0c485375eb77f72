"""Issue 18's flows on an in-process gateway (tiny models, in-process upstreams, generation with its
own jobs) with a real Redis and the real library service on a loopback port:

- `response_format: url`: signed, expiring image URLs that need no key, for designs, jobs and unsaved
  synchronous answers, cache hits included; tampered or expired: 403; a url answer is >= 100x smaller;
- `Idempotency-Key` on POST /v1/jobs and /v1/rag: the same job or answer, a mismatch, per owner,
  concurrent duplicates, malformed keys;
- `GET /v1/jobs` (cursor pages, state filter, owners), `GET /v1/jobs/{id}/events` (SSE to the end);
- webhooks: a signed `job.finished` POST to a local receiver, retried after a 500; refused targets.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
import redis
from fastapi.testclient import TestClient

from gateway.signed_urls import UrlSigner
from tests.conftest import wait_ready
from tests.helpers import (
    LibraryServer,
    WebhookReceiver,
    assert_envelope,
    finished,
    gateway_app,
    poll_job,
    sse_events,
)
from tests.service.test_gateway_library import as_, key_hash, pixels

QUICK = {"steps": 10, "strength": 0.5}
URL_SECRET = "url-secret-for-tests"
WEBHOOK_SECRET = "webhook-secret-for-tests"


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    running = LibraryServer(tmp_path_factory.mktemp("library"))
    running.start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def generation_with_jobs(tiny_models, redis_server):
    from services.generation.app import create_app
    from services.generation.config import GenerationSettings

    settings = GenerationSettings(model=str(tiny_models["sd"]), redis_url=redis_server.url)
    with TestClient(create_app(settings)) as client:
        wait_ready(client)
        yield client.app


@pytest.fixture(scope="module")
def apps(retrieval_client, captioning_client, generation_with_jobs):
    return {
        "retrieval": retrieval_client.app,
        "captioning": captioning_client.app,
        "generation": generation_with_jobs,
    }


def make_gateway(tiny_models, apps, library, redis_server, **overrides) -> TestClient:
    settings = {
        "library_url": library.url,
        "api_keys": ",".join(key_hash(n) for n in ("alice", "bob")),
        "admin_keys": key_hash("boss"),
        "redis_url": redis_server.url,
        "job_queue_name": f"flows:{time.monotonic_ns()}",
        "job_poll_s": 0.02,
        "rate_limit_per_window": 0,
        "url_secret": URL_SECRET,
        "webhook_secret": WEBHOOK_SECRET,
        "webhook_allow": "127.0.0.1",
        **overrides,
    }
    return TestClient(gateway_app(tiny_models, apps, **settings), raise_server_exceptions=False)


@pytest.fixture(scope="module")
def client(tiny_models, apps, library, redis_server):
    with make_gateway(tiny_models, apps, library, redis_server) as client:
        wait_ready(client)
        yield client


def rag(client, who="alice", headers=None, **body):
    answer = client.post(
        "/v1/rag",
        json={"text": "sekar bunga", **QUICK, **body},
        headers={**as_(who), **(headers or {})},
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def fetch_png(client, url: str) -> bytes:
    """The image behind a signed URL, fetched with no API key."""
    answer = client.get(url)  # the client sends no key header unless told
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "image/png"
    assert answer.content.startswith(b"\x89PNG")
    return answer.content


def tampered(url: str, **changes) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query)) | changes
    return parts._replace(query=urlencode(query)).geturl()


def wait_job(client, job_id, who="alice") -> dict:
    client.headers.update(as_(who))
    try:
        return poll_job(client, job_id, finished, every_s=0.05)[-1]
    finally:
        client.headers.pop("X-API-Key")


# ---- response_format: url ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def full_size(tiny_models, apps, library, redis_server):
    """A gateway that generates at the size it serves by default (512 px), as a user gets it."""
    with make_gateway(tiny_models, apps, library, redis_server, generation_size=512) as client:
        wait_ready(client)
        yield client


def test_a_url_answer_points_at_the_saved_design_and_is_100x_smaller(full_size):
    client = full_size
    body = {"seed": 1801, "text": "kawung sekar", "steps": 2}
    inline = rag(client, **body)
    by_url = rag(client, **body, response_format="url")
    assert (
        by_url["cache"]["hit"] is True
    )  # the cached answer holds base64: converted on the way out
    assert by_url["images"] == [] and len(by_url["image_urls"]) == 1
    (url,) = by_url["image_urls"]
    (design,) = by_url["designs"]
    assert urlsplit(url).path == f"/v1/signed/designs/{design['id']}/image"
    assert urlsplit(url).netloc == "testserver"  # absolute: an <img src> on any page
    # The library's PNG carries the design's settings in chunks of its own: the same pixels.
    assert pixels(fetch_png(client, url)) == pixels(base64.b64decode(inline["images"][0]))
    # Measured in bytes, not time: the whole answer, as sent.
    ratio = len(json.dumps(inline)) / len(json.dumps(by_url))
    assert ratio >= 100, ratio
    # Everything but the images is the same answer.
    for field in ("references", "captions", "prompt", "seed", "designs"):
        assert by_url[field] == inline[field], field


def test_a_tampered_or_expired_url_is_403_in_the_envelope(client):
    (url,) = rag(client, seed=1802, response_format="url")["image_urls"]
    path = urlsplit(url).path
    design_id = path.split("/")[4]
    other = design_id[:-1] + ("0" if design_id[-1] != "0" else "1")
    assert_envelope(client.get(url.replace(design_id, other)), 403, "forbidden")
    assert_envelope(client.get(tampered(url, sig="0" * 64)), 403, "forbidden")
    # A signature cut short or of another shape is a tampered one too, not a malformed request.
    for shape in (dict(parse_qsl(urlsplit(url).query))["sig"][:-1], "G" * 64, ""):
        assert_envelope(client.get(tampered(url, sig=shape)), 403, "forbidden")
    assert_envelope(client.get(tampered(url, owner="0123456789abcdef")), 403, "forbidden")
    later = str(int(dict(parse_qsl(urlsplit(url).query))["exp"]) + 3600)
    assert_envelope(client.get(tampered(url, exp=later)), 403, "forbidden")
    assert_envelope(client.get(url.split("?")[0]), 422, "validation")  # no signature at all
    # Signed right, but already past its expiry.
    owner = dict(parse_qsl(urlsplit(url).query))["owner"]
    expired = UrlSigner(URL_SECRET, ttl_s=-10).sign(path, {"owner": owner})
    error = assert_envelope(client.get(expired), 403, "forbidden")
    assert "expired" in error["message"]
    fetch_png(client, url)  # the untouched URL still works


def test_an_unsaved_answer_and_its_previews_are_served_from_the_cache(client):
    answer = rag(client, seed=1803, save=False, preview_repeat=True, response_format="url")
    assert answer["designs"] == [] and answer["previews"] == []
    (image_url,), (preview_url,) = answer["image_urls"], answer["preview_urls"]
    png = fetch_png(client, image_url)
    assert urlsplit(image_url).path == f"/v1/signed/images/{hashlib.sha256(png).hexdigest()}"
    assert fetch_png(client, preview_url) != png
    assert_envelope(client.get(tampered(image_url, sig="f" * 64)), 403, "forbidden")


def test_the_upload_form_takes_response_format(client):
    answer = client.post(
        "/v1/rag/upload",
        data={"text": "parang", "seed": "1804", "steps": "10", "response_format": "url"},
        headers=as_("alice"),
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["images"] == [] and len(answer.json()["image_urls"]) == 1
    bad = client.post(
        "/v1/rag/upload", data={"text": "parang", "response_format": "png"}, headers=as_("alice")
    )
    assert "response_format" in assert_envelope(bad, 422, "validation")["message"]


def test_a_remix_takes_response_format(client):
    (design,) = rag(client, seed=1805)["designs"]
    remix = client.post(
        f"/v1/designs/{design['id']}/remix",
        json={"seed": 1806, "response_format": "url"},
        headers=as_("alice"),
    )
    assert remix.status_code == 200, remix.text
    answer = remix.json()
    assert answer["images"] == [] and len(answer["image_urls"]) == 1
    (child,) = answer["designs"]
    assert urlsplit(answer["image_urls"][0]).path == f"/v1/signed/designs/{child['id']}/image"
    assert fetch_png(client, answer["image_urls"][0]).startswith(b"\x89PNG")
    bad = client.post(
        f"/v1/designs/{design['id']}/remix", json={"response_format": "png"}, headers=as_("alice")
    )
    assert "response_format" in assert_envelope(bad, 422, "validation")["message"]


def test_an_unknown_response_format_is_422(client):
    for route in ("/v1/rag", "/v1/jobs"):
        answer = client.post(
            route, json={"text": "kawung", "response_format": "jpeg"}, headers=as_("alice")
        )
        assert "response_format" in assert_envelope(answer, 422, "validation")["message"]
    answer = client.get(f"/v1/jobs/{'0' * 32}?response_format=jpeg", headers=as_("alice"))
    assert_envelope(answer, 422, "validation")


def test_a_job_answers_urls_to_its_record_and_either_format_on_request(client):
    created = client.post(
        "/v1/jobs",
        json={"text": "truntum", "seed": 1805, "save": False, "response_format": "url", **QUICK},
        headers=as_("bob"),
    ).json()
    done = wait_job(client, created["job_id"], "bob")
    assert done["state"] == "succeeded" and done["response_format"] == "url"
    assert done["result"]["images"] == []
    (url,) = done["result"]["image_urls"]
    assert urlsplit(url).path == f"/v1/signed/jobs/{created['job_id']}/images/0"
    inline = client.get(
        f"{created['status_url']}?response_format=b64_json", headers=as_("bob")
    ).json()
    assert inline["result"]["image_urls"] == []
    assert fetch_png(client, url) == base64.b64decode(inline["result"]["images"][0])
    beyond = url.replace("/images/0", "/images/1")
    assert_envelope(client.get(beyond), 403, "forbidden")  # the signature covers the place
    # A saved job's image points at its design, readable without the key as its owner's.
    saved = client.post(
        "/v1/jobs", json={"text": "truntum", "seed": 1806, **QUICK}, headers=as_("bob")
    ).json()
    wait_job(client, saved["job_id"], "bob")
    job = client.get(f"{saved['status_url']}?response_format=url", headers=as_("boss")).json()
    (design,) = job["result"]["designs"]
    (url,) = job["result"]["image_urls"]
    assert f"/v1/signed/designs/{design['id']}/image" in url
    fetch_png(client, url)  # signed for bob (the job's owner), though the admin asked


# ---- Idempotency-Key -----------------------------------------------------------------------------


def test_a_retried_job_submission_answers_the_same_job(client):
    body = {"text": "sidomukti", "seed": 1807, "generate": False}
    key = {"Idempotency-Key": "retry-1807"}
    first = client.post("/v1/jobs", json=body, headers={**as_("alice"), **key})
    again = client.post("/v1/jobs", json=body, headers={**as_("alice"), **key})
    assert first.status_code == again.status_code == 202
    assert again.json()["job_id"] == first.json()["job_id"]
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    # Another body with the key: refused; another owner's same key: a job of their own.
    other = client.post("/v1/jobs", json={**body, "seed": 1}, headers={**as_("alice"), **key})
    assert "Idempotency-Key" in assert_envelope(other, 422, "idempotency_mismatch")["message"]
    bobs = client.post("/v1/jobs", json=body, headers={**as_("bob"), **key})
    assert bobs.status_code == 202 and bobs.json()["job_id"] != first.json()["job_id"]
    # Without the key the same body makes a new job.
    fresh = client.post("/v1/jobs", json=body, headers=as_("alice"))
    assert fresh.json()["job_id"] != first.json()["job_id"]


def test_concurrent_duplicates_make_one_job(client):
    body = {"text": "ceplok", "seed": 1808, "generate": False}
    headers = {**as_("alice"), "Idempotency-Key": f"race-{time.monotonic_ns()}"}
    before = {
        j["job_id"] for j in client.get("/v1/jobs?limit=100", headers=as_("alice")).json()["jobs"]
    }
    with ThreadPoolExecutor(8) as pool:
        answers = list(
            pool.map(lambda _: client.post("/v1/jobs", json=body, headers=headers), range(8))
        )
    assert [a.status_code for a in answers] == [202] * 8, [a.text for a in answers]
    assert len({a.json()["job_id"] for a in answers}) == 1
    after = {
        j["job_id"] for j in client.get("/v1/jobs?limit=100", headers=as_("alice")).json()["jobs"]
    }
    assert after - before == {answers[0].json()["job_id"]}


def test_a_retried_rag_answers_the_same_answer(client):
    key = {"Idempotency-Key": f"rag-{time.monotonic_ns()}"}
    body = {"text": "semen rama", "save": False, **QUICK}  # no seed: the key keeps the one drawn

    def post(**changes):
        return client.post("/v1/rag", json={**body, **changes}, headers={**as_("alice"), **key})

    first = post()
    again = post()
    assert first.status_code == again.status_code == 200, again.text
    assert again.json() == first.json()  # the answer as given, kept for the key's retries
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    # Its format is the request's: the same body in `url` is another body for the key.
    assert_envelope(post(response_format="url"), 422, "idempotency_mismatch")
    assert_envelope(post(text="lereng"), 422, "idempotency_mismatch")
    # A retry whose kept answer is gone runs with the key's seed: the same images (cache hit).
    store = redis.Redis.from_url(client.app.state.settings.redis_url)
    for kept in store.scan_iter("batik:rag:v1:idem:*"):
        store.delete(kept)
    rerun = post().json()
    assert rerun["seed"] == first.json()["seed"]
    if not first.json()["degraded"]:  # a degraded answer is never cached, and may differ
        assert rerun["images"] == first.json()["images"]


def test_a_jobs_key_lives_no_longer_than_its_job(tiny_models, apps, library, redis_server):
    """Jobs kept a minute (GATEWAY_JOB_TTL_S=60): the key's record goes no later than the job's, so
    a retry never meets a record whose job has expired (it answered 429 "still being submitted"
    until the key's day was over)."""
    with make_gateway(tiny_models, apps, library, redis_server, job_ttl_s=60) as short:
        wait_ready(short)
        key = f"short-{time.monotonic_ns()}"
        body = {"text": "truntum", "seed": 1809, "generate": False}
        headers = {**as_("alice"), "Idempotency-Key": key}
        job_id = short.post("/v1/jobs", json=body, headers=headers).json()["job_id"]
        store = redis.Redis.from_url(short.app.state.settings.redis_url)
        digest = hashlib.sha256(key.encode()).hexdigest()
        (record,) = store.scan_iter(f"batik:idem:v1:jobs:*:{digest}")
        job = short.app.state.jobs.store.key(job_id)
        assert 0 < store.pttl(record) <= store.pttl(job) <= 60_000
        other = short.post("/v1/jobs", json={**body, "seed": 1}, headers=headers)
        assert "in the last 1 min" in assert_envelope(other, 422, "idempotency_mismatch")["message"]


@pytest.mark.parametrize(
    "bad", ["k" * 256, "tab\there", "bell\x07", ""], ids=["too-long", "tab", "control", "empty"]
)
def test_a_malformed_idempotency_key_is_422(client, bad):
    for route in ("/v1/jobs", "/v1/rag"):
        answer = client.post(
            route,
            json={"text": "kawung", "generate": False},
            headers={**as_("alice"), "Idempotency-Key": bad},
        )
        assert "idempotency-key" in assert_envelope(answer, 422, "validation")["message"].lower()


# ---- GET /v1/jobs and the event stream -----------------------------------------------------------


def test_the_job_list_pages_by_cursor_filters_by_state_and_keeps_owners_apart(
    tiny_models, apps, library, redis_server
):
    with make_gateway(tiny_models, apps, library, redis_server, job_worker=False) as idle:
        wait_ready(idle)  # no worker: its jobs stay queued, until cancelled
        made = [
            idle.post(
                "/v1/jobs", json={"text": f"list {n}", "generate": False}, headers=as_("boss")
            ).json()["job_id"]
            for n in range(5)
        ]
        idle.delete(f"/v1/jobs/{made[1]}", headers=as_("boss"))
        seen, cursor = [], None
        while True:
            params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
            page = idle.get("/v1/jobs", params=params, headers=as_("boss")).json()
            seen += [j["job_id"] for j in page["jobs"]]
            assert len(page["jobs"]) <= 2
            if not (cursor := page["next_cursor"]):
                break
        assert seen[:5] == made[::-1]  # newest first, each once
        assert len(seen) == len(set(seen))
        cancelled = idle.get("/v1/jobs?state=cancelled", headers=as_("boss")).json()["jobs"]
        assert [j["job_id"] for j in cancelled][:1] == [made[1]]
        assert all(j["state"] == "cancelled" for j in cancelled)
        assert cancelled[0]["status_url"] == f"/v1/jobs/{made[1]}" and "result" not in cancelled[0]
        queued = idle.get("/v1/jobs?state=queued&limit=100", headers=as_("boss")).json()["jobs"]
        assert {made[0], *made[2:]} <= {j["job_id"] for j in queued}
        alices = idle.get("/v1/jobs?limit=100", headers=as_("alice")).json()["jobs"]
        assert not set(made) & {j["job_id"] for j in alices}
        assert_envelope(idle.get("/v1/jobs?cursor=garbage", headers=as_("boss")), 422, "validation")
        assert_envelope(idle.get("/v1/jobs?state=lost", headers=as_("boss")), 422, "validation")


def test_the_event_stream_shows_stages_and_steps_and_ends_with_the_terminal_state(client):
    created = client.post(
        "/v1/jobs",
        json={"text": "parang rusak", "seed": 1809, "steps": 40, "strength": 1.0, "save": False},
        headers=as_("alice"),
    ).json()
    url = f"/v1/jobs/{created['job_id']}/events"
    assert_envelope(client.get(url, headers=as_("bob")), 404, "not_found")
    with client.stream("GET", url, headers=as_("alice")) as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        events = sse_events(stream.iter_lines())  # returns once the server ends the stream
    names = [name for name, _ in events]
    assert names[-1] == "finished" and names.count("finished") == 1
    last = events[-1][1]
    assert last == {
        "job_id": created["job_id"],
        "state": "succeeded",
        "status_url": created["status_url"],
        "error": None,
    }
    # Every stage, in order, however short (the record keeps their history).
    stages = [data["stage"] for name, data in events if name == "stage"]
    assert stages == ["retrieval", "captioning", "fusion", "generation"], stages
    steps = [data["step"] for name, data in events if name == "progress"]
    assert steps == sorted(steps) and steps[-1] == 40 and len(steps) > 1, steps
    states = [data["state"] for name, data in events if name == "state"]
    assert states[-1] == "succeeded" and "running" in states
    # A finished job's stream is its end at once.
    with client.stream("GET", url, headers=as_("alice")) as stream:
        assert [n for n, _ in sse_events(stream.iter_lines())][-1] == "finished"


# ---- webhooks ------------------------------------------------------------------------------------


def test_a_webhook_is_delivered_signed_and_retried_after_a_500(client):
    with WebhookReceiver(answers=[500]) as receiver:
        created = client.post(
            "/v1/jobs",
            json={
                "text": "nitik",
                "seed": 1810,
                "generate": False,
                "callback_url": receiver.url + "/hook",
            },
            headers=as_("alice"),
        ).json()
        failed, delivered = receiver.wait_for(2)
    assert failed["status"] == 500 and delivered["status"] == 200
    assert delivered["body"] == failed["body"]  # the same event, sent again
    expected = hmac.new(WEBHOOK_SECRET.encode(), delivered["body"], hashlib.sha256).hexdigest()
    assert delivered["headers"]["X-Batik-Signature"] == f"sha256={expected}"
    event = json.loads(delivered["body"])
    assert event["type"] == "job.finished" and delivered["path"] == "/hook"
    assert event["data"] == {
        "job_id": created["job_id"],
        "state": "succeeded",
        "status_url": created["status_url"],
        "error": None,
    }
    job = client.get(created["status_url"], headers=as_("alice")).json()
    assert job["callback_url"] == receiver.url + "/hook"


@pytest.mark.parametrize(
    ("target", "why"),
    [
        ("http://93.184.216.34/hook", "https"),
        ("https://10.1.2.3/hook", "private"),
        ("https://169.254.169.254/latest/meta-data", "private"),
        ("https://[::1]/hook", "private"),
        ("https://[::ffff:192.168.0.1]/hook", "private"),
        ("ftp://93.184.216.34/hook", "https"),
        ("https://user:pw@93.184.216.34/hook", "credentials"),
        ("not a url", "https"),
    ],
)
def test_a_callback_url_that_is_not_https_or_not_public_is_422(client, target, why):
    answer = client.post(
        "/v1/jobs", json={"text": "kawung", "callback_url": target}, headers=as_("alice")
    )
    assert why in assert_envelope(answer, 422, "validation")["message"]


def test_callback_url_is_refused_without_a_webhook_secret(tiny_models, apps, library, redis_server):
    with make_gateway(tiny_models, apps, library, redis_server, webhook_secret=None) as bare:
        wait_ready(bare)
        answer = bare.post(
            "/v1/jobs",
            json={"text": "kawung", "callback_url": "https://93.184.216.34/hook"},
            headers=as_("alice"),
        )
        assert "GATEWAY_WEBHOOK_SECRET" in assert_envelope(answer, 422, "validation")["message"]


def test_keys_and_urls_need_redis_and_a_rag_without_them_still_works(
    tiny_models, apps, library, redis_server
):
    with make_gateway(tiny_models, apps, library, redis_server, redis_url=None) as bare:
        wait_ready(bare)
        keyed = bare.post(
            "/v1/rag",
            json={"text": "kawung", "generate": False},
            headers={**as_("alice"), "Idempotency-Key": "k"},
        )
        assert "Idempotency-Key" in assert_envelope(keyed, 503, "no_job_store")["message"]
        answer = rag(bare, seed=1811, save=False, response_format="url")
        fetch_png(bare, answer["image_urls"][0])  # the in-process cache keeps it
