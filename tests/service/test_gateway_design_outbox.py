"""Saving through the outbox (gateway/saving.py, gateway/outbox.py): an in-process gateway (tiny
models, in-process upstreams) with a real job Redis (append-only, noeviction, as deployed) and the
real library service over HTTP on a loopback port, which tests stop and start again.

The answer names its designs at once; the drain saves them; a read of a design still queued saves it
first; a library that is down (even with a gateway restart and a Redis kill -9 meanwhile) delays the
save and loses nothing; another key's queued design is 404; a save the library refuses for good
answers that refusal; colourways are queued and saved the same way; a job Redis that does not answer means saving before the answer, as before."""

from __future__ import annotations

import hashlib
import io
import time

import httpx
import pytest
import redis
from fastapi.testclient import TestClient
from PIL import Image

from gateway.outbox import DUE
from tests.conftest import wait_ready
from tests.helpers import LibraryServer, RedisServer, assert_envelope, gateway_app

QUICK = {"steps": 10, "strength": 0.5}
KEYS = {name: f"{name}-key-0123456789" for name in ("alice", "bob")}


def as_(name: str) -> dict[str, str]:
    return {"X-API-Key": KEYS[name]}


def owner_of(name: str) -> str:
    return hashlib.sha256(KEYS[name].encode()).hexdigest()[:16]


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    running = LibraryServer(tmp_path_factory.mktemp("library"))
    running.start()
    yield running
    running.stop()


def open_gateway(tiny_models, apps, library, job_redis, **overrides) -> TestClient:
    keys = ",".join("sha256:" + hashlib.sha256(k.encode()).hexdigest() for k in KEYS.values())
    settings = {
        "library_url": library.url,
        "job_redis_url": job_redis.url,
        "api_keys": keys,
        "breaker_reset_s": 0.2,
        "library_timeout_s": 5.0,
        **overrides,
    }
    client = TestClient(gateway_app(tiny_models, apps, **settings))
    client.__enter__()
    wait_ready(client)
    return client


@pytest.fixture(scope="module")
def client(tiny_models, upstream_apps, library, job_redis):
    opened = open_gateway(tiny_models, upstream_apps, library, job_redis)
    yield opened
    opened.__exit__(None, None, None)


def rag(client, who="alice", **body) -> dict:
    answer = client.post("/v1/rag", json={"text": "sekar bunga", **QUICK, **body}, headers=as_(who))
    assert answer.status_code == 200, answer.text
    return answer.json()


def in_library(library, design_id: str, who: str = "alice") -> httpx.Response:
    """The library's own answer (not the gateway's, which would save a queued design first)."""
    return httpx.get(
        f"{library.url}/v1/designs/{design_id}", headers={"X-Owner-Id": owner_of(who)}, timeout=5
    )


def wait_saved(library, design_id: str, deadline_s: float = 30.0) -> dict:
    deadline = time.monotonic() + deadline_s
    while (answer := in_library(library, design_id)).status_code == 404:
        assert time.monotonic() < deadline, f"{design_id} never reached the library"
        time.sleep(0.05)
    assert answer.status_code == 200, answer.text
    return answer.json()


def queued(job_redis) -> int:
    return redis.Redis(port=job_redis.port).zcard(DUE)


def pixels(png: bytes) -> bytes:
    with Image.open(io.BytesIO(png)) as image:
        return image.convert("RGB").tobytes()


def test_the_answer_names_its_design_and_the_drain_saves_it(client, library, job_redis):
    import base64

    answer = rag(client, seed=101)
    (ref,) = answer["designs"]
    assert ref["url"] == f"/v1/designs/{ref['id']}/image" and answer["degraded"] == []
    # Nobody reads it: the drain alone takes it to the library, with the answer's own image.
    saved = wait_saved(library, ref["id"])
    assert saved["owner"] == owner_of("alice") and saved["provenance"]["seed"] == 101
    assert saved["provenance"]["request"]["text"] == "sekar bunga"
    png = httpx.get(f"{library.url}{ref['url']}", headers={"X-Owner-Id": owner_of("alice")}).content
    assert pixels(png) == pixels(base64.b64decode(answer["images"][0]))
    # Embedded on the way (retrieval's /v1/embed), so it is found by similarity.
    similar = client.get(f"/v1/designs/{ref['id']}/similar", headers=as_("alice"))
    assert similar.status_code == 200, similar.text
    # The same request again: a cache hit with the same design, not a second one.
    again = rag(client, seed=101)
    assert again["cache"]["hit"] and again["designs"] == [ref]
    wait_for_empty_outbox(job_redis)


def wait_for_empty_outbox(job_redis, deadline_s: float = 30.0) -> None:
    deadline = time.monotonic() + deadline_s
    while queued(job_redis) > 0:
        assert time.monotonic() < deadline, "the outbox never emptied"
        time.sleep(0.05)


def eventually(read, deadline_s: float = 30.0) -> httpx.Response:
    """`read()` again while it answers 502/503: the library client's breaker opened while the
    library was down and lets a call through again after its reset time (0.2 s here)."""
    deadline = time.monotonic() + deadline_s
    while (answer := read()).status_code in (502, 503):
        assert time.monotonic() < deadline, answer.text
        time.sleep(0.05)
    return answer


def test_a_design_saved_while_the_library_is_down_appears_after_it_comes_back(
    tiny_models, upstream_apps, library, job_redis
):
    """Nothing lost: the library down, the gateway that answered gone, the job Redis killed (-9)
    and restarted from its append-only file; then a new gateway saves the design, same id."""
    import base64

    first = open_gateway(tiny_models, upstream_apps, library, job_redis)
    library.stop()
    try:
        answer = rag(first, seed=202)
        (ref,) = answer["designs"]
        assert answer["degraded"] == [] and answer["images"]
        # Not lost, not pretended: the gateway says the library does not answer.
        down = first.get(f"/v1/designs/{ref['id']}", headers=as_("alice"))
        assert down.status_code in (502, 503), down.text
        assert queued(job_redis) == 1
        first.__exit__(None, None, None)
        job_redis.process.kill()  # kill -9: only what the append-only file holds survives
        job_redis.process.wait(timeout=10)
        job_redis.start()
        assert queued(job_redis) == 1
    finally:
        library.start()
    second = open_gateway(tiny_models, upstream_apps, library, job_redis)
    try:
        saved = wait_saved(library, ref["id"])  # by the new gateway's drain, unasked
        assert saved["provenance"]["seed"] == 202
        png = second.get(ref["url"], headers=as_("alice"))
        assert png.status_code == 200
        assert pixels(png.content) == pixels(base64.b64decode(answer["images"][0]))
        assert queued(job_redis) == 0
    finally:
        second.__exit__(None, None, None)


def retried(gateway) -> float:
    """The gateway's count of failed deliveries (its /metrics), so a test can wait for one."""
    for line in gateway.get("/metrics").text.splitlines():
        if line.startswith('batik_design_saves_total{outcome="retried"}'):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_once_a_delivery_failed_answers_say_library_is_degraded_until_one_succeeds(
    tiny_models, upstream_apps, library, job_redis
):
    """The first answer after the library went down cannot know; once the drain has failed to
    deliver, answers add `library` to `degraded` and still list their (queued) designs; the
    library back and a delivery done, answers are whole again."""
    gateway = open_gateway(tiny_models, upstream_apps, library, job_redis)
    library.stop()
    try:
        first = rag(gateway, seed=211)
        assert first["degraded"] == [] and first["designs"]
        deadline = time.monotonic() + 30
        while retried(gateway) < 1:
            assert time.monotonic() < deadline, "the drain never tried the stopped library"
            time.sleep(0.05)
        during = rag(gateway, seed=212)
        assert during["degraded"] == ["library"], during["degraded"]
        (queued_ref,) = during["designs"]  # named and queued: saved once the library is back
        assert during["images"]
    finally:
        library.start()
    try:
        assert wait_saved(library, queued_ref["id"])["provenance"]["seed"] == 212
        wait_for_empty_outbox(job_redis)
        # A delivery tried while the library's breaker was still open sets the flag again; the
        # next success clears it. The same request again is a cache hit: no new design.
        deadline = time.monotonic() + 30
        while (after := rag(gateway, seed=213))["degraded"]:
            assert time.monotonic() < deadline, "answers still say library after it came back"
            time.sleep(0.1)
        assert after["designs"]
    finally:
        wait_for_empty_outbox(job_redis)  # nothing of this test's left for the next ones
        gateway.__exit__(None, None, None)


READS = {
    "get": lambda gateway, id_: gateway.get(f"/v1/designs/{id_}", headers=as_("alice")),
    "export": lambda gateway, id_: gateway.post(
        f"/v1/designs/{id_}/export", json={"width_px": 128, "dpi": 72}, headers=as_("alice")
    ),
    "colorways": lambda gateway, id_: gateway.post(
        f"/v1/designs/{id_}/colorways",
        json={"palettes": ["indigo_cream"], "save": False},
        headers=as_("alice"),
    ),
}


@pytest.mark.parametrize("read", READS)
def test_a_read_of_a_queued_design_saves_it_first(
    tiny_models, upstream_apps, library, job_redis, monkeypatch, read
):
    """The library back while the entry waits out its retry's backoff (a minute here, so the drain
    cannot get there first): a read (an export and a colourway too) saves it at once instead of
    waiting."""
    monkeypatch.setattr("gateway.saving.FIRST_RETRY_S", 60.0)
    gateway = open_gateway(tiny_models, upstream_apps, library, job_redis)
    try:
        library.stop()
        try:
            ref = rag(gateway, seed=303)["designs"][0]
            deadline = time.monotonic() + 30
            while gateway.app.state.engine.saver.outcomes["retried"] == 0:  # the drain failed
                assert time.monotonic() < deadline
                time.sleep(0.05)
        finally:
            library.start()
        assert in_library(library, ref["id"]).status_code == 404  # not there yet
        answer = eventually(lambda: READS[read](gateway, ref["id"]))
        assert answer.status_code == 200, answer.text
        assert in_library(library, ref["id"]).status_code == 200
        assert queued(job_redis) == 0
    finally:
        gateway.__exit__(None, None, None)


def test_another_keys_queued_design_is_404_and_its_owner_lists_it(client, library, job_redis):
    library.stop()
    try:
        ref = rag(client, seed=404)["designs"][0]
        # Bob's read neither saves nor reveals alice's queued design: the library's answer (down).
        for path in (f"/v1/designs/{ref['id']}", ref["url"]):
            assert client.get(path, headers=as_("bob")).status_code in (502, 503)
        assert queued(job_redis) == 1
    finally:
        library.start()
    bob_reads = eventually(lambda: client.get(f"/v1/designs/{ref['id']}", headers=as_("bob")))
    assert_envelope(bob_reads, 404, "not_found")
    page = eventually(
        lambda: client.get("/v1/designs", params={"limit": 100}, headers=as_("alice"))
    )
    assert page.status_code == 200 and ref["id"] in [d["id"] for d in page.json()["designs"]]
    bobs = client.get("/v1/designs", params={"limit": 100}, headers=as_("bob")).json()
    assert ref["id"] not in [d["id"] for d in bobs["designs"]]


def test_a_save_the_library_refuses_answers_its_refusal(
    tiny_models, upstream_apps, job_redis, tmp_path
):
    full = LibraryServer(tmp_path / "full", max_designs_per_owner=1)
    full.start()
    gateway = open_gateway(tiny_models, upstream_apps, full, job_redis)
    try:
        kept = rag(gateway, seed=501)["designs"][0]["id"]
        assert gateway.get(f"/v1/designs/{kept}", headers=as_("alice")).status_code == 200
        refused = rag(gateway, seed=502)["designs"][0]["id"]
        error = assert_envelope(
            gateway.get(f"/v1/designs/{refused}", headers=as_("alice")), 409, "quota_exceeded"
        )
        assert (
            "was not saved" in error["message"]
            and "LIBRARY_MAX_DESIGNS_PER_OWNER" in error["message"]
        )
        assert queued(job_redis) == 0  # out of the outbox, never retried forever
        # Its refusal is its owner's to read: another key's read is 404, as for any foreign id.
        assert_envelope(gateway.get(f"/v1/designs/{refused}", headers=as_("bob")), 404, "not_found")
    finally:
        gateway.__exit__(None, None, None)
        full.stop()


def colorways(gateway, parent: str, *palettes: str):
    return gateway.post(
        f"/v1/designs/{parent}/colorways", json={"palettes": list(palettes)}, headers=as_("alice")
    )


def test_colourways_are_queued_like_every_design_and_the_drain_saves_them(
    client, library, job_redis
):
    parent = rag(client, seed=701)["designs"][0]["id"]
    outcomes = client.app.state.engine.saver.outcomes
    queued_before = outcomes["queued"]
    answer = colorways(client, parent, "sogan_yogya", "indigo_cream")
    assert answer.status_code == 200, answer.text
    ways = answer.json()["colorways"]
    assert outcomes["queued"] == queued_before + 2  # named and queued, not saved before the answer
    for way in ways:
        assert way["url"] == f"/v1/designs/{way['id']}/image"
        child = wait_saved(library, way["id"])  # by the drain, unasked
        assert child["parent_id"] == parent and child["tags"] == ["colorway", way["palette"]]
        assert child["provenance"]["colorway"]["palette"] == way["palette"]
        assert child["provenance"]["seed"] == 701  # the parent's provenance, kept
    wait_for_empty_outbox(job_redis)


def test_a_colourway_the_library_refuses_answers_its_refusal_on_read(
    tiny_models, upstream_apps, job_redis, tmp_path
):
    """Queued, a colourway answers at once (saved before the answer, a full library made it a 409);
    a read of its id then answers the library's refusal, as for a RAG answer's design."""
    full = LibraryServer(tmp_path / "full", max_designs_per_owner=1)
    full.start()
    gateway = open_gateway(tiny_models, upstream_apps, full, job_redis)
    try:
        parent = rag(gateway, seed=702)["designs"][0]["id"]
        answer = colorways(gateway, parent, "sogan_solo")
        assert answer.status_code == 200, answer.text
        refused = answer.json()["colorways"][0]["id"]
        error = assert_envelope(
            gateway.get(f"/v1/designs/{refused}", headers=as_("alice")), 409, "quota_exceeded"
        )
        assert "was not saved" in error["message"]
        assert queued(job_redis) == 0
    finally:
        gateway.__exit__(None, None, None)
        full.stop()


def test_without_an_answering_job_redis_designs_are_saved_before_the_answer(
    tiny_models, upstream_apps, library
):
    gone = RedisServer().start()
    gateway = open_gateway(tiny_models, upstream_apps, library, gone, redis_timeout_s=0.5)
    try:
        gone.stop()
        answer = rag(gateway, seed=601)
        (ref,) = answer["designs"]
        assert answer["degraded"] == []
        assert in_library(library, ref["id"]).status_code == 200  # there before the answer
    finally:
        gateway.__exit__(None, None, None)
