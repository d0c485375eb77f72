"""The library service over HTTP (TestClient on the real app), on SQLite and on PostgreSQL."""

from __future__ import annotations

import io

import pytest
from fastapi.testclient import TestClient
from PIL import Image, PngImagePlugin

from services.library.app import create_app
from services.library.config import LibrarySettings
from services.library.files import FileStore
from services.library.store import LibraryStore, now_us
from tests.conftest import wait_ready
from tests.helpers import assert_envelope, b64, design_png, design_provenance, image_bytes

ALICE = {"X-Owner-Id": "key-alice"}
BOB = {"X-Owner-Id": "key-bob"}
ADMIN = {"X-Owner-Id": "key-admin", "X-Owner-Admin": "true"}
UNKNOWN = "d_" + "0" * 20


def _settings(db_url, tmp_path, **overrides) -> LibrarySettings:
    return LibrarySettings(dir=tmp_path / "library", db_url=db_url, **overrides)


@pytest.fixture
def client(library_db_url, tmp_path):
    with TestClient(create_app(_settings(library_db_url, tmp_path))) as client:
        wait_ready(client)
        yield client


def save(client, headers=ALICE, shade=1, motifs=(1,), prompt="kawung", **fields):
    body = {
        "image_b64": b64(design_png(shade)),
        "provenance": design_provenance(prompt, list(motifs), seed=shade),
        **fields,
    }
    answer = client.post("/v1/designs", json=body, headers=headers)
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_save_get_and_fetch_the_png_with_its_settings(client):
    design = save(client, shade=5, prompt="sekar jagad", tags=["sogan"], embedding=[1.0, 0.0])
    assert design["owner"] == "key-alice" and design["url"] == f"/v1/designs/{design['id']}/image"
    assert client.get(f"/v1/designs/{design['id']}", headers=ALICE).json() == design
    image = client.get(design["url"], headers=ALICE)
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    assert image.headers["etag"] == f'"{design["sha256"]}"'
    assert "immutable" in image.headers["cache-control"]
    with Image.open(io.BytesIO(image.content)) as png:
        assert png.text["parameters"].startswith("sekar jagad\nSteps: 20")
        assert png.size == (32, 32)
    again = client.get(design["url"], headers={**ALICE, "If-None-Match": image.headers["etag"]})
    assert again.status_code == 304
    imported = client.post(
        "/v1/designs/import", files={"image": ("d.png", image.content, "image/png")}, headers=ALICE
    )
    assert imported.json() == {
        "request": {"text": "sekar jagad", "top_k": 3, "seed": 5},
        "source": "batik",
    }


def test_a_save_with_the_callers_id_is_idempotent_over_http(client):
    """The gateway's outbox may send a save again (its answer lost): one design, same answer."""
    chosen = "d_" + "c3" * 10
    first = save(client, shade=6, id=chosen, created_at="2026-11-30T10:00:00+00:00")
    again = save(client, shade=6, id=chosen, created_at="2026-11-30T10:00:00+00:00")
    assert first == again and first["id"] == chosen
    assert first["created_at"].startswith("2026-11-30T10:00:00")
    page = client.get("/v1/designs", headers=ALICE).json()["designs"]
    assert [d["id"] for d in page] == [chosen]
    # The repeat is not a second save.
    assert "batik_library_designs_saved_total 1.0" in client.get("/metrics").text
    body = {"image_b64": b64(design_png(7)), "id": chosen}
    assert_envelope(client.post("/v1/designs", json=body, headers=BOB), 422, "validation")
    body["id"] = "d_nothex"
    assert_envelope(client.post("/v1/designs", json=body, headers=ALICE), 422, "validation")


def test_thumbnails_come_in_a_few_sizes(client):
    design = save(client)
    thumb = client.get(design["url"], params={"size": 128}, headers=ALICE)
    assert thumb.status_code == 200
    assert thumb.headers["etag"] == f'"{design["sha256"]}-128"'
    assert_envelope(
        client.get(design["url"], params={"size": 100}, headers=ALICE), 422, "validation"
    )


def test_list_pages_and_filters_over_http(client):
    first = save(client, shade=1, motifs=(7,), prompt="parang rusak")
    second = save(client, shade=2, motifs=(8,))
    third = save(client, shade=3, motifs=(7,))
    page = client.get("/v1/designs", params={"limit": 2}, headers=ALICE).json()
    assert [d["id"] for d in page["designs"]] == [third["id"], second["id"]]
    rest = client.get(
        "/v1/designs", params={"limit": 2, "cursor": page["next_cursor"]}, headers=ALICE
    ).json()
    assert [d["id"] for d in rest["designs"]] == [first["id"]] and rest["next_cursor"] is None
    by_motif = client.get("/v1/designs", params={"motif": 7}, headers=ALICE).json()
    assert [d["id"] for d in by_motif["designs"]] == [third["id"], first["id"]]
    words = client.get("/v1/designs", params={"q": "rusak"}, headers=ALICE).json()
    assert [d["id"] for d in words["designs"]] == [first["id"]]
    after = client.get(
        "/v1/designs", params={"created_after": second["created_at"]}, headers=ALICE
    ).json()
    assert [d["id"] for d in after["designs"]] == [third["id"]]


@pytest.mark.parametrize(
    "params",
    [
        {"cursor": "garbage"},
        {"limit": 0},
        {"limit": 101},
        {"motif": "seven"},
        {"motif": -1},
        {"motif": 2**31},  # past the design_motifs column (2**63: a 500 from SQLite, before)
        {"motif": 2**63},
        {"favorite": "perhaps"},
        {"created_after": "last tuesday"},
        {"board": "not-a-board"},
        {"created_after": "2026-02-01T00:00:00Z", "created_before": "2026-01-01T00:00:00Z"},
    ],
)
def test_bad_list_parameters_answer_422(client, params):
    assert_envelope(client.get("/v1/designs", params=params, headers=ALICE), 422, "validation")


def test_owner_header_is_required_and_checked(client):
    assert_envelope(client.get("/v1/designs"), 422, "validation")
    assert_envelope(client.get("/v1/designs", headers={"X-Owner-Id": "a b/c"}), 422, "validation")


def test_another_owners_design_and_board_are_404_and_admins_see_everything(client):
    design = save(client, ALICE)
    board = client.post("/v1/boards", json={"name": "mine"}, headers=ALICE).json()
    for method, path, body in [
        ("GET", f"/v1/designs/{design['id']}", None),
        ("GET", design["url"], None),
        ("PATCH", f"/v1/designs/{design['id']}", {"favorite": True}),
        ("DELETE", f"/v1/designs/{design['id']}", None),
        ("GET", f"/v1/designs/{design['id']}/similar", None),
        ("PATCH", f"/v1/boards/{board['id']}", {"name": "theirs"}),
        ("DELETE", f"/v1/boards/{board['id']}", None),
        ("PUT", f"/v1/boards/{board['id']}/designs/{design['id']}", None),
        ("GET", f"/v1/designs/{UNKNOWN}", None),
        ("GET", "/v1/designs/not-an-id", None),
        ("GET", "/v1/boards/b_nope", None),
    ]:
        answer = client.request(method, path, json=body, headers=BOB)
        assert_envelope(answer, 404, "not_found")
    assert client.get("/v1/designs", headers=BOB).json()["designs"] == []
    assert client.get("/v1/boards", headers=BOB).json()["boards"] == []
    assert client.get(f"/v1/designs/{design['id']}", headers=ADMIN).json()["owner"] == "key-alice"
    assert [d["id"] for d in client.get("/v1/designs", headers=ADMIN).json()["designs"]] == [
        design["id"]
    ]
    assert client.delete(f"/v1/designs/{design['id']}", headers=ADMIN).status_code == 204


def test_patch_and_delete(client):
    design = save(client, ALICE, title="draft")
    changed = client.patch(
        f"/v1/designs/{design['id']}",
        json={"favorite": True, "tags": ["wedding", "wedding"], "notes": "x"},
        headers=ALICE,
    ).json()
    assert (changed["favorite"], changed["tags"], changed["title"]) == (True, ["wedding"], "draft")
    assert_envelope(
        client.patch(f"/v1/designs/{design['id']}", json={"owner": "me"}, headers=ALICE),
        422,
        "validation",
    )
    favourites = client.get("/v1/designs", params={"favorite": True}, headers=ALICE).json()
    assert [d["id"] for d in favourites["designs"]] == [design["id"]]
    assert client.delete(f"/v1/designs/{design['id']}", headers=ALICE).status_code == 204
    assert_envelope(client.get(design["url"], headers=ALICE), 404, "not_found")
    assert_envelope(client.delete(f"/v1/designs/{design['id']}", headers=ALICE), 404, "not_found")
    assert client.get("/v1/designs", headers=ALICE).json()["designs"] == []


def test_boards_over_http(client):
    design = save(client)
    board = client.post("/v1/boards", json={"name": "  Sarongs "}, headers=ALICE)
    assert board.status_code == 201 and board.json()["name"] == "Sarongs"
    board_id = board.json()["id"]
    put = client.put(f"/v1/boards/{board_id}/designs/{design['id']}", headers=ALICE)
    assert put.status_code == 204
    assert client.get("/v1/boards", headers=ALICE).json()["boards"][0]["design_count"] == 1
    on_board = client.get("/v1/designs", params={"board": board_id}, headers=ALICE).json()
    assert [d["board_ids"] for d in on_board["designs"]] == [[board_id]]
    renamed = client.patch(f"/v1/boards/{board_id}", json={"name": "Kain"}, headers=ALICE)
    assert renamed.json()["name"] == "Kain"
    assert_envelope(
        client.patch(f"/v1/boards/{board_id}", json={"name": ""}, headers=ALICE), 422, "validation"
    )
    assert_envelope(client.post("/v1/boards", json={}, headers=ALICE), 422, "validation")
    off = client.delete(f"/v1/boards/{board_id}/designs/{design['id']}", headers=ALICE)
    assert off.status_code == 204
    assert client.delete(f"/v1/boards/{board_id}", headers=ALICE).status_code == 204
    assert client.get(f"/v1/designs/{design['id']}", headers=ALICE).status_code == 200
    assert_envelope(
        client.get("/v1/designs", params={"board": board_id}, headers=ALICE), 404, "not_found"
    )


def test_similar_and_nearest(client):
    east = save(client, shade=1, embedding=[1.0, 0.0, 0.0])
    north = save(client, shade=2, embedding=[0.0, 1.0, 0.0])
    between = save(client, shade=3, embedding=[0.6, 0.8, 0.0])
    save(client, BOB, shade=4, embedding=[0.0, 1.0, 0.0])
    hits = client.get(f"/v1/designs/{north['id']}/similar", headers=ALICE).json()["designs"]
    assert [h["design"]["id"] for h in hits] == [between["id"], east["id"]]
    assert hits[0]["score"] == pytest.approx(0.8)
    near = client.post(
        "/v1/designs/nearest", json={"embedding": [1.0, 0.1, 0.0], "limit": 1}, headers=ALICE
    ).json()["designs"]
    assert [h["design"]["id"] for h in near] == [east["id"]]
    assert_envelope(
        client.post("/v1/designs/nearest", json={"embedding": []}, headers=ALICE), 422, "validation"
    )
    no_vector = save(client, shade=9)
    assert_envelope(
        client.get(f"/v1/designs/{no_vector['id']}/similar", headers=ALICE), 422, "validation"
    )


@pytest.mark.parametrize(
    ("body", "status", "kind"),
    [
        ({"image_b64": "not base64!!"}, 422, "validation"),
        (
            {"image_b64": b64(image_bytes(Image.new("RGB", (8, 8)), "JPEG"))},
            415,
            "unsupported_media",
        ),
        ({"image_b64": b64(design_png(1)[:-30])}, 422, "validation"),
        ({"image_b64": b64(design_png(1)), "embedding": ["x"]}, 422, "validation"),
        ({"image_b64": b64(design_png(1)), "parent_id": UNKNOWN}, 422, "validation"),
        ({"image_b64": b64(design_png(1)), "tags": ["x" * 51]}, 422, "validation"),
        ({"provenance": {}}, 422, "validation"),
    ],
)
def test_bad_designs_are_refused(client, body, status, kind):
    assert_envelope(client.post("/v1/designs", json=body, headers=ALICE), status, kind)
    assert client.get("/v1/designs", headers=ALICE).json()["designs"] == []


def test_import_reads_other_tools_pngs_and_refuses_pngs_without_settings(client):
    info = PngImagePlugin.PngInfo()
    info.add_text(
        "parameters", "kawung\nSteps: 12, Sampler: DDIM, CFG scale: 5, Seed: 4, Size: 8x8"
    )
    a1111 = image_bytes(Image.new("RGB", (8, 8)), pnginfo=info)
    answer = client.post("/v1/designs/import", files={"image": ("a.png", a1111)}, headers=ALICE)
    assert answer.json() == {
        "request": {
            "text": "kawung",
            "steps": 12,
            "guidance_scale": 5.0,
            "seed": 4,
            "init_source": "none",
        },
        "source": "parameters",
    }
    plain = client.post(
        "/v1/designs/import", files={"image": ("p.png", design_png(1))}, headers=ALICE
    )
    assert "no generation settings" in assert_envelope(plain, 422, "validation")["message"]
    jpeg = image_bytes(Image.new("RGB", (8, 8)), "JPEG")
    assert_envelope(
        client.post("/v1/designs/import", files={"image": ("j.jpg", jpeg)}, headers=ALICE),
        415,
        "unsupported_media",
    )
    assert_envelope(client.post("/v1/designs/import", headers=ALICE), 422, "validation")


def test_quota_full_answers_409(library_db_url, tmp_path):
    settings = _settings(library_db_url, tmp_path, max_designs_per_owner=1)
    with TestClient(create_app(settings)) as client:
        wait_ready(client)
        save(client, shade=1)
        error = assert_envelope(
            client.post(
                "/v1/designs",
                json={"image_b64": b64(design_png(2)), "provenance": {}},
                headers=ALICE,
            ),
            409,
            "quota_exceeded",
        )
        assert "full" in error["message"]
        save(client, BOB, shade=3)


def test_metrics_count_saves_and_deletes_and_the_store_size(client):
    design = save(client)
    client.delete(f"/v1/designs/{design['id']}", headers=ALICE)
    save(client, shade=2)
    text = client.get("/metrics").text
    assert "batik_library_designs_saved_total 2.0" in text
    assert "batik_library_designs_deleted_total 1.0" in text
    assert "batik_library_designs 1.0" in text
    assert "batik_library_store_bytes " in text and "batik_library_store_bytes 0.0" not in text


def test_restart_keeps_every_design_and_retention_runs_at_start(library_db_url, tmp_path):
    with TestClient(create_app(_settings(library_db_url, tmp_path))) as client:
        wait_ready(client)
        design = save(client)
        before = client.get(design["url"], headers=ALICE).content
    # A design from 40 days ago, written straight into the same store.
    store = LibraryStore(library_db_url, FileStore(tmp_path / "library"))
    old = store.create_design(
        "key-alice",
        png=design_png(77),
        provenance=design_provenance("old", [1]),
        created_us=now_us() - 40 * 86_400 * 1_000_000,
    )
    store.close()
    settings = _settings(library_db_url, tmp_path, retention_days=30)
    with TestClient(create_app(settings)) as client:
        wait_ready(client)
        assert client.get(f"/v1/designs/{design['id']}", headers=ALICE).json() == design
        assert client.get(design["url"], headers=ALICE).content == before
        assert client.get("/readyz").json()["database"] in ("sqlite", "postgresql")
        assert_envelope(client.get(f"/v1/designs/{old.id}", headers=ALICE), 404, "not_found")
        assert not (
            tmp_path / "library" / "objects" / old.sha256[:2] / f"{old.sha256}.png"
        ).exists()


def test_database_down_answers_503_not_500(tmp_path):
    settings = LibrarySettings(
        dir=tmp_path / "lib",
        db_url="postgresql://postgres@127.0.0.1:1/none",
        migrate_on_start=False,
    )
    with TestClient(create_app(settings)) as client:
        wait_ready(client)
        assert_envelope(client.get("/v1/designs", headers=ALICE), 503, "store_unavailable")


def test_import_refuses_a_file_over_the_upload_limit(library_db_url, tmp_path):
    settings = _settings(library_db_url, tmp_path, max_upload_bytes=2048)
    with TestClient(create_app(settings)) as client:
        wait_ready(client)
        big = image_bytes(Image.effect_noise((64, 64), 60).convert("RGB"))
        assert len(big) > 2048
        answer = client.post("/v1/designs/import", files={"image": ("b.png", big)}, headers=ALICE)
        assert_envelope(answer, 413, "payload_too_large")
