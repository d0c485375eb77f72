"""The design library through the gateway: an in-process gateway (tiny models, in-process upstreams)
against the real library service served by uvicorn on a loopback port (SQLite and a file store in a
temporary directory), so saving crosses real HTTP and the library can be stopped and started again.

Covers saving (and `save: false`), the answer cache (design ids per owner), a library that goes away
and comes back, ownership across API keys and the admin key, remix lineage, import of the stored PNG,
similar designs and search, image caching headers, boards, and RAG jobs."""

from __future__ import annotations

import hashlib
import io
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from tests.conftest import wait_ready
from tests.helpers import LibraryServer, assert_envelope, b64, gateway_app

QUICK = {"steps": 10, "strength": 0.5}
KEYS = {name: f"{name}-key-0123456789" for name in ("alice", "bob", "carol", "boss")}


def key_hash(name: str) -> str:
    return "sha256:" + hashlib.sha256(KEYS[name].encode()).hexdigest()


def as_(name: str) -> dict[str, str]:
    return {"X-API-Key": KEYS[name]}


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    running = LibraryServer(tmp_path_factory.mktemp("library"))
    running.start()
    yield running
    running.stop()


@contextmanager
def gateway(tiny_models, apps, library, **overrides):
    settings = {
        "library_url": library.url,
        "api_keys": ",".join(key_hash(n) for n in ("alice", "bob", "carol")),
        "admin_keys": key_hash("boss"),
        "breaker_reset_s": 0.2,
        **overrides,
    }
    with TestClient(gateway_app(tiny_models, apps, **settings)) as client:
        wait_ready(client)
        yield client


@pytest.fixture(scope="module")
def client(tiny_models, upstream_apps, library):
    with gateway(tiny_models, upstream_apps, library) as client:
        yield client


def rag(client, who="alice", **body):
    answer = client.post("/v1/rag", json={"text": "sekar bunga", **QUICK, **body}, headers=as_(who))
    assert answer.status_code == 200, answer.text
    return answer.json()


def listed(client, who="alice", **params) -> list[str]:
    page = client.get("/v1/designs", params={"limit": 100, **params}, headers=as_(who))
    assert page.status_code == 200, page.text
    return [d["id"] for d in page.json()["designs"]]


def pixels(png: bytes) -> bytes:
    with Image.open(io.BytesIO(png)) as image:
        return image.convert("RGB").tobytes()


# ---- saving --------------------------------------------------------------------------------------


def test_a_generated_image_is_saved_with_how_it_was_made(client):
    answer = rag(client, seed=11, symmetry="d4", tile=True)
    (ref,) = answer["designs"]
    assert ref["url"] == f"/v1/designs/{ref['id']}/image"
    assert "library" in answer["timings_ms"] and "library" not in answer["degraded"]
    design = client.get(f"/v1/designs/{ref['id']}", headers=as_("alice")).json()
    made = design["provenance"]
    assert made["request"]["text"] == "sekar bunga" and made["seed"] == 11
    assert made["prompt"]["text"] == answer["prompt"]["text"] == design["prompt"]
    assert [r["id"] for r in made["references"]] == [r["id"] for r in answer["references"]]
    assert set(design["motifs"]) == {r["motif"]["number"] for r in answer["references"]}
    assert made["captions"] == answer["captions"]
    assert (made["steps"], made["strength"], made["tile"], made["symmetry"]) == (
        10,
        0.5,
        True,
        "d4",
    )
    assert made["scheduler"] == answer["scheduler"] and made["versions"]["model"] == answer["model"]
    assert made["index_version"] and made["timings_ms"]["generation"] > 0
    # The stored PNG shows the generated pixels, with the settings inside.
    image = client.get(ref["url"], headers=as_("alice"))
    assert image.headers["content-type"] == "image/png"
    assert pixels(image.content) == pixels(b64decode(answer["images"][0]))
    with Image.open(io.BytesIO(image.content)) as png:
        assert "Seed: 11" in png.text["parameters"] and "batik" in png.text
    assert ref["id"] == listed(client)[0]  # newest first


def b64decode(text: str) -> bytes:
    import base64

    return base64.b64decode(text)


def test_save_false_keeps_nothing(client):
    before = listed(client)
    answer = rag(client, seed=12, save=False)
    assert answer["images"] and answer["designs"] == [] and answer["degraded"] == []
    assert listed(client) == before


def test_a_cache_hit_answers_the_owners_own_designs(client):
    first = rag(client, seed=13)
    again = rag(client, seed=13)
    assert again["cache"]["hit"] and again["designs"] == first["designs"]
    # Another owner's hit saves the cached image as a design of its own: never A's ids.
    bobs = rag(client, who="bob", seed=13)
    assert bobs["cache"]["hit"] and bobs["designs"][0]["id"] != first["designs"][0]["id"]
    assert bobs["designs"][0]["id"] in listed(client, "bob")
    # A design deleted since is saved again on the next hit.
    gone = first["designs"][0]["id"]
    assert client.delete(f"/v1/designs/{gone}", headers=as_("alice")).status_code == 204
    third = rag(client, seed=13)
    assert third["cache"]["hit"] and third["designs"][0]["id"] != gone
    assert gone not in listed(client)


def test_the_seed_saved_on_a_hit_is_the_cached_answers(client):
    """save: false and save: true share one cache entry; the hit that saves records the same."""
    rag(client, seed=14, save=False)
    saved = rag(client, seed=14)
    assert saved["cache"]["hit"]
    design = client.get(f"/v1/designs/{saved['designs'][0]['id']}", headers=as_("alice")).json()
    assert design["provenance"]["seed"] == 14


def test_upload_answers_are_saved_too(client, synthetic_dataset):
    images, _ = synthetic_dataset
    raw = (images / "5 Truntum 1.jpg").read_bytes()
    answer = client.post(
        "/v1/rag/upload",
        files={"image": ("truntum.jpg", raw, "image/jpeg")},
        data={"seed": "15", "steps": "10", "strength": "0.5"},
        headers=as_("alice"),
    )
    assert answer.status_code == 200, answer.text
    (ref,) = answer.json()["designs"]
    made = client.get(f"/v1/designs/{ref['id']}", headers=as_("alice")).json()["provenance"]
    assert made["query_image"] is True and "image" not in made["request"]
    # The query image is not kept, so this design cannot be re-run from the library.
    remix = client.post(f"/v1/designs/{ref['id']}/remix", json={}, headers=as_("alice"))
    assert "query image" in assert_envelope(remix, 422, "validation")["message"]
    no = client.post(
        "/v1/rag/upload",
        files={"image": ("truntum.jpg", raw, "image/jpeg")},
        data={"seed": "15", "steps": "10", "strength": "0.5", "save": "false"},
        headers=as_("alice"),
    )
    assert no.json()["designs"] == []


def test_a_library_that_stops_degrades_the_answer_and_saving_resumes(client, library):
    library.stop()
    try:
        down = rag(client, seed=16)
        assert down["images"] and down["designs"] == [] and "library" in down["degraded"]
        assert_envelope(client.get("/v1/designs", headers=as_("alice")), 502, "upstream")
    finally:
        library.start()
    time.sleep(0.3)  # past the breaker's reset time (0.2 s here): the next call probes again
    back = rag(client, seed=16)
    # The answer was cached, but not as saved: this identical request saves it.
    assert back["cache"]["hit"] and back["degraded"] == [] and len(back["designs"]) == 1
    assert back["designs"][0]["id"] in listed(client)


# ---- ownership -----------------------------------------------------------------------------------


def test_keys_see_only_their_own_designs_and_the_admin_sees_all(client):
    alices = rag(client, seed=21)["designs"][0]["id"]
    bobs = rag(client, who="bob", seed=22)["designs"][0]["id"]
    assert alices not in listed(client, "bob") and bobs not in listed(client, "alice")
    for method, path, body in [
        ("GET", f"/v1/designs/{alices}", None),
        ("GET", f"/v1/designs/{alices}/image", None),
        ("PATCH", f"/v1/designs/{alices}", {"favorite": True}),
        ("DELETE", f"/v1/designs/{alices}", None),
        ("POST", f"/v1/designs/{alices}/remix", {"seed": 1}),
        ("GET", f"/v1/designs/{alices}/similar", None),
    ]:
        answer = client.request(method, path, json=body, headers=as_("bob"))
        assert_envelope(answer, 404, "not_found")
    owner = client.get(f"/v1/designs/{alices}", headers=as_("alice")).json()["owner"]
    assert owner == hashlib.sha256(KEYS["alice"].encode()).hexdigest()[:16]
    assert KEYS["alice"] not in owner
    everything = listed(client, "boss")
    assert alices in everything and bobs in everything
    assert client.get(f"/v1/designs/{bobs}", headers=as_("boss")).status_code == 200
    assert_envelope(client.get("/v1/designs"), 401, "unauthorized")
    assert_envelope(client.get("/v1/designs/d_nonsense", headers=as_("alice")), 404, "not_found")


def test_keys_off_everyone_shares_one_library(tiny_models, upstream_apps, library):
    with gateway(tiny_models, upstream_apps, library, api_keys=None, admin_keys=None) as open_:
        made = open_.post("/v1/rag", json={"text": "kawung", "seed": 23, **QUICK}).json()
        design = open_.get(f"/v1/designs/{made['designs'][0]['id']}").json()
        assert design["owner"] == "anonymous"


# ---- the design routes ---------------------------------------------------------------------------


def test_remix_runs_the_recorded_request_with_overrides_and_records_its_parent(client):
    original = rag(client, seed=31, guidance_scale=6.0)["designs"][0]["id"]
    answer = client.post(
        f"/v1/designs/{original}/remix", json={"seed": 32, "strength": 0.6}, headers=as_("alice")
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["seed"] == 32
    remix = client.get(f"/v1/designs/{body['designs'][0]['id']}", headers=as_("alice")).json()
    assert remix["parent_id"] == original
    made = remix["provenance"]
    assert (made["seed"], made["strength"], made["guidance_scale"]) == (32, 0.6, 6.0)
    assert made["request"]["text"] == "sekar bunga"
    for bad in ({"steps": 0}, {"strength": 2.0}, {"steps": 1, "strength": 0.5}, {"size": 3}):
        answer = client.post(f"/v1/designs/{original}/remix", json=bad, headers=as_("alice"))
        assert_envelope(answer, 422, "validation")
    unknown = "d_" + "0" * 20
    answer = client.post(f"/v1/designs/{unknown}/remix", json={}, headers=as_("alice"))
    assert_envelope(answer, 404, "not_found")


def test_a_half_drop_design_records_its_repeat_and_remixes_untiled(client):
    # carol's library: the similarity tests count on alice's designs alone.
    original = rag(client, "carol", seed=71, tile=True, repeat="half_drop")["designs"][0]["id"]
    made = client.get(f"/v1/designs/{original}", headers=as_("carol")).json()["provenance"]
    assert (made["tile"], made["repeat"], made["request"]["repeat"]) == (
        True,
        "half_drop",
        "half_drop",
    )
    answer = client.post(
        f"/v1/designs/{original}/remix", json={"tile": False}, headers=as_("carol")
    )
    assert answer.status_code == 200, answer.text
    remix = client.get(f"/v1/designs/{answer.json()['designs'][0]['id']}", headers=as_("carol"))
    assert (remix.json()["provenance"]["tile"], remix.json()["provenance"]["repeat"]) == (
        False,
        None,
    )
    brick = client.post(
        f"/v1/designs/{original}/remix", json={"repeat": "half_brick"}, headers=as_("carol")
    )
    assert brick.status_code == 200, brick.text
    again = client.get(f"/v1/designs/{brick.json()['designs'][0]['id']}", headers=as_("carol"))
    assert again.json()["provenance"]["repeat"] == "half_brick"


def test_the_stored_png_imports_back_as_the_request_that_made_it(client):
    ref = rag(client, seed=41, guidance_scale=8.0)["designs"][0]
    png = client.get(ref["url"], headers=as_("alice")).content
    imported = client.post(
        "/v1/designs/import", files={"image": ("d.png", png, "image/png")}, headers=as_("alice")
    )
    assert imported.status_code == 200, imported.text
    body = imported.json()
    assert body["source"] == "batik"
    assert body["request"]["seed"] == 41 and body["request"]["text"] == "sekar bunga"
    assert body["request"]["guidance_scale"] == 8.0
    again = client.post("/v1/rag", json={**body["request"], "save": False}, headers=as_("alice"))
    assert again.json()["cache"]["hit"]  # the same request, so the same answer
    plain = Image.new("RGB", (16, 16), (200, 10, 10))
    buffer = io.BytesIO()
    plain.save(buffer, format="PNG")
    answer = client.post(
        "/v1/designs/import",
        files={"image": ("plain.png", buffer.getvalue(), "image/png")},
        headers=as_("alice"),
    )
    assert_envelope(answer, 422, "validation")


def test_similar_designs_and_search_by_text_or_image(client):
    first = rag(client, seed=51)["designs"][0]["id"]
    second = rag(client, seed=52)["designs"][0]["id"]
    # Every one of alice's designs, ranked: other tests add hers, and on random weights `second`
    # need not be among the first ten.
    similar = client.get(
        f"/v1/designs/{first}/similar", params={"limit": 100}, headers=as_("alice")
    )
    assert similar.status_code == 200, similar.text
    ids = [d["design"]["id"] for d in similar.json()["designs"]]
    assert second in ids and first not in ids
    assert all(-1.0 <= d["score"] <= 1.0 for d in similar.json()["designs"])
    png = client.get(f"/v1/designs/{second}/image", headers=as_("alice")).content
    by_image = client.post(
        "/v1/designs/search", json={"image": b64(png), "limit": 3}, headers=as_("alice")
    ).json()["designs"]
    assert by_image[0]["design"]["id"] == second and by_image[0]["score"] > 0.99
    by_text = client.post(
        "/v1/designs/search", json={"text": "sekar bunga", "limit": 5}, headers=as_("alice")
    )
    assert by_text.status_code == 200
    found = [d["design"]["id"] for d in by_text.json()["designs"]]
    assert len(found) == min(5, len(listed(client))) and len(found) >= 2
    assert all(d["design"]["owner"] != "bob" for d in by_text.json()["designs"])
    for bad in ({}, {"text": "x", "image": b64(png)}, {"text": "x", "limit": 0}):
        answer = client.post("/v1/designs/search", json=bad, headers=as_("alice"))
        assert_envelope(answer, 422, "validation")


def test_images_are_cached_by_etag_and_thumbnails_come_in_sizes(client):
    ref = rag(client, seed=61)["designs"][0]
    image = client.get(ref["url"], headers=as_("alice"))
    etag = image.headers["etag"]
    assert "immutable" in image.headers["cache-control"]
    again = client.get(ref["url"], headers={**as_("alice"), "If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    thumb = client.get(ref["url"], params={"size": 128}, headers=as_("alice"))
    assert thumb.status_code == 200 and thumb.headers["content-type"].startswith("image/")
    bad = client.get(ref["url"], params={"size": 100}, headers=as_("alice"))
    assert_envelope(bad, 422, "validation")


def test_update_filters_and_boards(client):
    ref = rag(client, seed=71)["designs"][0]
    other = rag(client, seed=72)["designs"][0]
    changed = client.patch(
        f"/v1/designs/{ref['id']}",
        json={"title": "Kawung for Ibu", "favorite": True, "tags": ["sogan"]},
        headers=as_("alice"),
    ).json()
    assert changed["favorite"] and changed["title"] == "Kawung for Ibu"
    assert_envelope(
        client.patch(f"/v1/designs/{ref['id']}", json={"owner": "x"}, headers=as_("alice")),
        422,
        "validation",
    )
    assert listed(client, favorite=True) == [ref["id"]]
    assert ref["id"] in listed(client, q="Ibu") and other["id"] not in listed(client, q="Ibu")
    assert_envelope(
        client.get("/v1/designs", params={"cursor": "garbage"}, headers=as_("alice")),
        422,
        "validation",
    )
    board = client.post("/v1/boards", json={"name": "Sogan"}, headers=as_("alice")).json()
    put = f"/v1/boards/{board['id']}/designs/{other['id']}"
    assert client.put(put, headers=as_("alice")).status_code == 204
    assert_envelope(client.put(put, headers=as_("bob")), 404, "not_found")
    assert listed(client, board=board["id"]) == [other["id"]]
    boards = client.get("/v1/boards", headers=as_("alice")).json()["boards"]
    assert [(b["name"], b["design_count"]) for b in boards] == [("Sogan", 1)]
    assert client.get("/v1/boards", headers=as_("bob")).json()["boards"] == []
    renamed = client.patch(
        f"/v1/boards/{board['id']}", json={"name": "Sogan 2"}, headers=as_("alice")
    )
    assert renamed.json()["name"] == "Sogan 2"
    assert client.delete(put, headers=as_("alice")).status_code == 204
    assert client.delete(f"/v1/boards/{board['id']}", headers=as_("alice")).status_code == 204
    assert other["id"] in listed(client)


def test_without_a_library_nothing_is_saved_and_the_routes_say_why(tiny_models, upstream_apps):
    with TestClient(gateway_app(tiny_models, upstream_apps)) as bare:
        wait_ready(bare)
        answer = bare.post("/v1/rag", json={"text": "kawung", "seed": 3, **QUICK}).json()
        assert answer["designs"] == [] and answer["degraded"] == []
        assert_envelope(bare.get("/v1/designs"), 503, "store_unavailable")


@pytest.fixture(scope="module")
def generation_with_jobs(tiny_models, redis_server):
    """Generation with Redis: a RAG job's generate step runs as a generation job."""
    from services.generation.app import create_app
    from services.generation.config import GenerationSettings

    settings = GenerationSettings(model=str(tiny_models["sd"]), redis_url=redis_server.url)
    with TestClient(create_app(settings)) as client:
        wait_ready(client)
        yield client.app


def test_a_rag_job_saves_its_designs_for_the_caller(
    tiny_models, upstream_apps, generation_with_jobs, library, redis_server
):
    apps = {**upstream_apps, "generation": generation_with_jobs}
    with gateway(tiny_models, apps, library, redis_url=redis_server.url) as jobs:
        submitted = jobs.post(
            "/v1/jobs", json={"text": "truntum", "seed": 81, **QUICK}, headers=as_("bob")
        )
        assert submitted.status_code == 202, submitted.text
        url = submitted.json()["status_url"]
        deadline = time.monotonic() + 120
        while (job := jobs.get(url, headers=as_("bob")).json())["state"] not in (
            "succeeded",
            "failed",
        ):
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert job["state"] == "succeeded", job["error"]
        (ref,) = job["result"]["designs"]
        assert ref["id"] in listed(jobs, "bob") and ref["id"] not in listed(jobs, "alice")
        # The job is bob's too: its result names his designs.
        assert_envelope(jobs.get(url, headers=as_("alice")), 404, "not_found")
        assert_envelope(jobs.delete(url, headers=as_("alice")), 404, "not_found")
        assert jobs.get(url, headers=as_("boss")).json()["result"]["designs"] == [ref]
        # The same request again is answered from the cache at once, with bob's design.
        hit = jobs.post(
            "/v1/jobs", json={"text": "truntum", "seed": 81, **QUICK}, headers=as_("bob")
        )
        cached = jobs.get(hit.json()["status_url"], headers=as_("bob")).json()
        assert cached["state"] == "succeeded" and cached["result"]["designs"] == [ref]
        assert_envelope(jobs.get(hit.json()["status_url"], headers=as_("alice")), 404, "not_found")


# ---- fairness (issue 16, finding 8): remixes and RAG jobs count as /v1/rag does ------------------


def fresh_key() -> tuple[str, str, str]:
    """A key no other test used (its rate-limit window and job places start empty): the key, its
    `sha256:` hash for the settings, and its rate-limit identity."""
    from gateway.security import OWNER_ID_HEX

    key = f"fairness-{uuid.uuid4().hex}"
    digest = hashlib.sha256(key.encode()).hexdigest()
    return key, f"sha256:{digest}", f"key:{digest[:OWNER_ID_HEX]}"


def test_a_remix_counts_its_steps_x_pixels_in_the_rate_limit(tiny_models, upstream_apps, library):
    original = rag_as(tiny_models, upstream_apps, library, seed=51)
    # 150 steps at 512x512 cost 5 units, past a window of 4: refused before any model runs.
    with gateway(
        tiny_models,
        upstream_apps,
        library,
        rate_limit_per_window=4,
        rate_limit_window_s=600,
        generation_size=512,
    ) as costly:
        refused = costly.post(
            f"/v1/designs/{original}/remix", json={"steps": 150}, headers=as_("alice")
        )
        assert "steps x pixels" in assert_envelope(refused, 429, "overloaded")["message"]
        assert int(refused.headers["retry-after"]) >= 1


def rag_as(tiny_models, apps, library, **body) -> str:
    """A design of alice's, made through a gateway of its own (its rate-limit window stays apart)."""
    with gateway(tiny_models, apps, library) as maker:
        return rag(maker, **body)["designs"][0]["id"]


def test_a_remix_takes_one_of_its_keys_generating_places(tiny_models, upstream_apps, library):
    from services.common.errors import ErrorType

    original = rag_as(tiny_models, upstream_apps, library, seed=61)
    from gateway.security import OWNER_ID_HEX

    alice = f"key:{hashlib.sha256(KEYS['alice'].encode()).hexdigest()[:OWNER_ID_HEX]}"
    with gateway(
        tiny_models, upstream_apps, library, max_generations_per_key=1, generation_size=256
    ) as bounded:
        places = bounded.app.state.engine.generations
        long_body = {"text": "kawung", "steps": 150, "strength": 1.0, "seed": 62}
        with ThreadPoolExecutor(1) as pool:
            long_run = pool.submit(bounded.post, "/v1/rag", json=long_body, headers=as_("alice"))
            deadline = time.monotonic() + 60
            while not places.running(alice) and not long_run.done():
                assert time.monotonic() < deadline, "alice's long run never took its place"
                time.sleep(0.01)
            remix = bounded.post(
                f"/v1/designs/{original}/remix", json={"seed": 63}, headers=as_("alice")
            )
            still_running = not long_run.done()
            assert long_run.result().status_code == 200
        error = assert_envelope(remix, 429, ErrorType.OVERLOADED.value)
        assert "GATEWAY_MAX_GENERATIONS_PER_KEY" in error["message"]
        assert int(remix.headers["retry-after"]) >= 1
        assert still_running, "the long run ended before the remix: inconclusive"
        again = bounded.post(
            f"/v1/designs/{original}/remix", json={"seed": 63}, headers=as_("alice")
        )
        assert again.status_code == 200, again.text  # the place was given back


def test_a_key_holds_at_most_max_jobs_per_key_generating_jobs_across_replicas(
    tiny_models, upstream_apps, library, redis_server
):
    (key, hashed, _), (other, other_hashed, _) = fresh_key(), fresh_key()
    settings = dict(
        api_keys=f"{hashed},{other_hashed}",
        redis_url=redis_server.url,
        job_worker=False,  # the jobs stay queued: each keeps its place
        job_queue_name=f"test:rag:queue:{uuid.uuid4().hex}",
        max_jobs_per_key=2,
    )
    mine, others = {"X-API-Key": key}, {"X-API-Key": other}
    body = {"text": f"truntum {uuid.uuid4().hex[:6]}", **QUICK}  # never cached
    with (
        gateway(tiny_models, upstream_apps, library, **settings) as first,
        gateway(tiny_models, upstream_apps, library, **settings) as second,
    ):
        held = []
        for replica, seed in ((first, 1), (second, 2)):
            accepted = replica.post("/v1/jobs", json={**body, "seed": seed}, headers=mine)
            assert accepted.status_code == 202, accepted.text
            held.append(accepted.json()["status_url"])
        for replica in (first, second):  # the count is in Redis: every replica sees it
            refused = replica.post("/v1/jobs", json={**body, "seed": 3}, headers=mine)
            error = assert_envelope(refused, 429, "overloaded")
            assert "GATEWAY_MAX_JOBS_PER_KEY" in error["message"]
            assert int(refused.headers["retry-after"]) >= 1
        # Another key has its own places; a job that generates nothing takes none.
        assert second.post("/v1/jobs", json={**body, "seed": 4}, headers=others).status_code == 202
        plain = {**body, "generate": False, "seed": 5}
        assert first.post("/v1/jobs", json=plain, headers=mine).status_code == 202
        # A finished (here: cancelled) job gives its place back.
        assert first.delete(held[0], headers=mine).json()["state"] == "cancelled"
        again = second.post("/v1/jobs", json={**body, "seed": 6}, headers=mine)
        assert again.status_code == 202, again.text
        for url in (held[1], again.json()["status_url"]):
            first.delete(url, headers=mine)


def test_a_costly_job_counts_its_steps_x_pixels_in_the_rate_limit(
    tiny_models, upstream_apps, library, redis_server
):
    key, hashed, _ = fresh_key()
    with gateway(
        tiny_models,
        upstream_apps,
        library,
        api_keys=hashed,
        redis_url=redis_server.url,
        job_worker=False,
        job_queue_name=f"test:rag:queue:{uuid.uuid4().hex}",
        rate_limit_per_window=4,
        rate_limit_window_s=600,
        generation_size=512,
    ) as client:
        costly = {"text": "kawung", "steps": 150, "init_source": "none", "seed": 7}
        refused = client.post("/v1/jobs", json=costly, headers={"X-API-Key": key})
        assert "steps x pixels" in assert_envelope(refused, 429, "overloaded")["message"]
