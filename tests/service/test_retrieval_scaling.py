"""Retrieval features beyond plain search: hybrid weights, dedupe, filters, embed, image caching,
the index endpoints and hot swap. Real tiny CLIP, real FAISS, the service app in a TestClient."""

import shutil
import tempfile
import threading
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from services.retrieval.index import MotifIndex
from tests.conftest import wait_ready
from tests.helpers import assert_envelope, b64

TOKEN = "s3cret-admin-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def half_hnsw_index(tmp_path_factory, tiny_models, synthetic_dataset):
    """Instance 1 of every motif only (24 images), as an HNSW index: another version, type and size."""
    from services.retrieval.ingest import ingest

    images, workbook = synthetic_dataset
    root = tmp_path_factory.mktemp("half")
    subset = root / "images"
    subset.mkdir()
    for path in images.glob("* 1*.jpg"):
        shutil.copy(path, subset / path.name)
    out = root / "index"
    ingest(
        subset,
        workbook,
        out,
        model_source=str(tiny_models["clip"]),
        progress=False,
        index_type="hnsw",
        index_params={"m": 8},
    )
    return out


@pytest.fixture(scope="module")
def other_model_index(tmp_path_factory, synthetic_dataset):
    from services.common.tiny import build_tiny_clip
    from services.retrieval.ingest import ingest

    root = tmp_path_factory.mktemp("other-model")
    clip = build_tiny_clip(root / "clip", seed=1)
    images, workbook = synthetic_dataset
    ingest(images, workbook, root / "index", model_source=str(clip), progress=False)
    return root / "index"


@pytest.fixture(scope="module")
def client(tiny_models, synthetic_index, tmp_path_factory):
    from services.retrieval.app import create_app
    from services.retrieval.config import RetrievalSettings

    settings = RetrievalSettings(
        model=str(tiny_models["clip"]),
        index_dir=str(synthetic_index),
        # Every index these tests build lies under pytest's base temporary directory.
        index_root=str(tmp_path_factory.getbasetemp()),
        admin_token=TOKEN,
        max_inflight=64,
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as test_client:
        wait_ready(test_client)
        yield test_client


@pytest.fixture
def flat_served(client, synthetic_index):
    """Each test starts (and ends) with the synthetic flat index in service."""
    assert (
        client.post(
            "/v1/index/reload", json={"index_dir": str(synthetic_index)}, headers=AUTH
        ).status_code
        == 200
    )
    yield MotifIndex(synthetic_index)
    client.post("/v1/index/reload", json={"index_dir": str(synthetic_index)}, headers=AUTH)


def _search(client, **body):
    answer = client.post("/v1/search", json=body)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _embed(client, **body) -> dict:
    answer = client.post("/v1/embed", json=body)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _ranking(body):
    return [(h["id"], round(h["score"], 5)) for h in body["hits"]]


def _all_vectors(index: MotifIndex) -> np.ndarray:
    return index.index.reconstruct_n(0, index.size)


@pytest.fixture(scope="module")
def query_image(synthetic_dataset):
    images, _ = synthetic_dataset
    return b64((images / "5 Truntum 1.jpg").read_bytes())


# -- hybrid -------------------------------------------------------------------------------------


def test_text_weight_one_ranks_as_text_and_zero_as_image(client, flat_served, query_image):
    # The visual channel alone: the lexical one (text queries) is tested in test_retrieval_lexical.
    raw = {"top_k": 48, "dedupe": False, "lexical_weight": 0}
    text_only = _search(client, text="kawung", **raw)
    image_only = _search(client, image=query_image, **raw)
    assert _ranking(text_only) != _ranking(image_only)
    both = {"text": "kawung", "image": query_image, **raw}
    assert _ranking(_search(client, text_weight=1.0, **both)) == _ranking(text_only)
    assert _ranking(_search(client, text_weight=0.0, **both)) == _ranking(image_only)
    middle = _ranking(_search(client, text_weight=0.5, **both))
    assert middle not in (_ranking(text_only), _ranking(image_only))


def test_hybrid_query_is_the_normalised_weighted_sum(client, flat_served, query_image):
    vectors = _embed(client, texts=["kawung"], images=[query_image])
    text, image = np.array(vectors["texts"][0]), np.array(vectors["images"][0])
    query = 0.3 * text + 0.7 * image
    query /= np.linalg.norm(query)
    body = _search(
        client,
        text="kawung",
        image=query_image,
        text_weight=0.3,
        top_k=48,
        dedupe=False,
        lexical_weight=0,
    )
    stored = _all_vectors(flat_served)
    expected = np.argsort(-(stored @ query), kind="stable")
    assert [h["id"] for h in body["hits"]][:10] == [int(i) for i in expected[:10]]
    for hit in body["hits"]:
        assert hit["score"] == pytest.approx(float(stored[hit["id"]] @ query), abs=1e-5)


# -- dedupe -------------------------------------------------------------------------------------


def test_dedupe_keeps_the_best_hit_of_each_source_photo(client, flat_served, query_image):
    raw = _search(client, image=query_image, top_k=48, dedupe=False)
    assert len(raw["hits"]) == 48 and raw["search"]["deduped"] is False
    photos_in_rank_order = []
    for hit in raw["hits"]:
        photo = (hit["motif"]["number"], hit["instance"])
        if photo not in [p for p, _ in photos_in_rank_order]:
            photos_in_rank_order.append((photo, hit["id"]))

    for top_k in (1, 5, 12):
        deduped = _search(client, image=query_image, top_k=top_k)
        photos = [(h["motif"]["number"], h["instance"]) for h in deduped["hits"]]
        assert len(photos) == top_k == len(set(photos))
        assert [h["id"] for h in deduped["hits"]] == [i for _, i in photos_in_rank_order[:top_k]]
        # Enough candidates were fetched: 4 rotations per photo.
        assert deduped["search"]["candidates"] == min(48, 4 * top_k)
    # The index holds 12 source photos: asking for more gives all 12, once each.
    assert len(_search(client, image=query_image, top_k=30)["hits"]) == 12


def test_dedupe_is_on_by_default_and_off_gives_raw_neighbours(client, flat_served):
    default = _search(client, text="sekar", top_k=12)
    photos = [(h["motif"]["number"], h["instance"]) for h in default["hits"]]
    assert len(set(photos)) == 12
    raw = _search(client, text="sekar", top_k=12, dedupe=False)
    raw_photos = [(h["motif"]["number"], h["instance"]) for h in raw["hits"]]
    assert len(set(raw_photos)) < 12  # 12 raw neighbours of 48 rows repeat some photo


# -- filters ------------------------------------------------------------------------------------


def test_motif_filter_is_exact_on_flat(client, flat_served):
    body = _search(client, text="kawung", motifs=[2, 5], top_k=100, dedupe=False)
    assert body["search"]["exact"] is True
    assert len(body["hits"]) == 16  # 2 motifs x 2 photos x 4 rotations
    assert {h["motif"]["number"] for h in body["hits"]} == {2, 5}
    query = np.array(_embed(client, texts=["kawung"])["texts"][0])
    rows = [item.id for item in flat_served.items if item.number in (2, 5)]
    scores = _all_vectors(flat_served)[rows] @ query
    expected = [rows[i] for i in np.argsort(-scores, kind="stable")]
    assert [h["id"] for h in body["hits"]] == expected
    deduped = _search(client, text="kawung", motifs=[5], top_k=10)
    assert [(h["motif"]["number"]) for h in deduped["hits"]] == [5, 5]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"text": "kawung", "motifs": []}, "motifs"),
        ({"text": "kawung", "motifs": [99]}, "[99]"),
        ({"text": "kawung", "motifs": ["two"]}, "motifs"),
        ({"text": "kawung", "text_weight": -0.1}, "text_weight"),
        ({"text": "kawung", "top_k": 1000}, "top_k"),
        ({"text": "kawung", "nprobe": 0}, "nprobe"),
        ({"text": "kawung", "ef_search": 100000}, "ef_search"),
    ],
)
def test_bad_search_options_are_422(client, flat_served, body, message):
    error = assert_envelope(client.post("/v1/search", json=body), 422, "validation")
    assert message in error["message"]


# -- embed --------------------------------------------------------------------------------------


def test_embed_answers_unit_vectors_in_the_index_space(client, flat_served, query_image):
    body = _embed(client, texts=["kawung", "sekar bunga", "truntum"], images=[query_image] * 2)
    assert body["dim"] == flat_served.dim == 16
    texts, images = np.array(body["texts"]), np.array(body["images"])
    assert texts.shape == (3, 16) and images.shape == (2, 16)
    np.testing.assert_allclose(np.linalg.norm(texts, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(images, axis=1), 1.0, atol=1e-5)
    assert not np.allclose(texts[0], texts[1])
    np.testing.assert_allclose(images[0], images[1], atol=1e-6)
    assert body["model"] == client.app.state.settings.model and body["model_version"]
    # The image's vector is the one stored for the same file: cosine 1 with row of that file.
    row = next(i.id for i in flat_served.items if i.file == "5 Truntum 1.jpg")
    assert float(images[0] @ _all_vectors(flat_served)[row]) == pytest.approx(1.0, abs=1e-3)
    assert _embed(client, images=[query_image])["texts"] == []


@pytest.mark.parametrize(
    ("body", "status", "kind", "message"),
    [
        ({}, 422, "validation", "at least one"),
        ({"texts": [], "images": []}, 422, "validation", "at least one"),
        ({"texts": ["x"] * 65}, 422, "validation", "64"),
        ({"texts": ["x"] * 40, "images": ["aGVsbG8="] * 25}, 422, "validation", "64"),
        ({"texts": [""]}, 422, "validation", "texts.0"),
        ({"images": ["not base64!!"]}, 422, "validation", "images[0]"),
        ({"images": [b64(b"plain text, not an image")]}, 415, "unsupported_media", "images[0]"),
    ],
)
def test_bad_embed_requests(client, flat_served, body, status, kind, message):
    error = assert_envelope(client.post("/v1/embed", json=body), status, kind)
    assert message in error["message"]


# -- images -------------------------------------------------------------------------------------


def test_images_carry_etag_and_cache_headers(client, flat_served):
    first = client.get("/v1/images/3", params={"size": 224})
    assert first.status_code == 200 and first.content
    etag = first.headers["etag"]
    assert etag == f'"{flat_served.version}-224-3"'
    # Without the version in the URL the id may name another photo after a reload: revalidate.
    assert first.headers["cache-control"] == "private, no-cache"
    pinned = client.get("/v1/images/3", params={"size": 224, "index_version": flat_served.version})
    assert pinned.headers["etag"] == etag and "immutable" in pinned.headers["cache-control"]
    again = client.get("/v1/images/3", params={"size": 224}, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag
    weak = client.get("/v1/images/3", params={"size": 224}, headers={"If-None-Match": f"W/{etag}"})
    assert weak.status_code == 304
    other_size = client.get("/v1/images/3", headers={"If-None-Match": etag})
    assert other_size.status_code == 200 and other_size.headers["etag"] != etag
    assert_envelope(client.get("/v1/images/999", headers={"If-None-Match": "*"}), 404, "not_found")


# -- the index in service -----------------------------------------------------------------------


def test_index_status_reports_what_is_served(client, flat_served, tiny_models):
    status = client.get("/v1/index").json()
    assert status["version"] == flat_served.version
    assert (status["type"], status["size"], status["dim"], status["motifs"]) == ("flat", 48, 16, 6)
    assert status["model"] == str(tiny_models["clip"])
    assert status["device"] == "cpu" and status["params"] == {}
    assert status["loaded_at"] and status["load_seconds"] >= 0 and status["created"]


def test_reload_swaps_to_a_new_index(client, flat_served, half_hnsw_index):
    answer = client.post("/v1/index/reload", json={"index_dir": str(half_hnsw_index)}, headers=AUTH)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    new = MotifIndex(half_hnsw_index)
    assert body["previous_version"] == flat_served.version
    assert (body["index"]["version"], body["index"]["type"], body["index"]["size"]) == (
        new.version,
        "hnsw",
        24,
    )
    assert body["index"]["params"]["m"] == 8
    assert client.get("/v1/index").json()["version"] == new.version
    assert client.get("/readyz").json()["index_version"] == new.version
    found = _search(client, text="kawung", top_k=5, ef_search=32)
    assert found["index"]["type"] == "hnsw" and found["index"]["size"] == 24
    assert found["search"]["ef_search"] == 32
    assert all(h["instance"] == 1 for h in found["hits"])
    # Ids of the old index beyond 24 are gone with it.
    assert_envelope(client.get("/v1/images/40"), 404, "not_found")


def test_refused_reloads_keep_the_old_index_serving(
    client, flat_served, other_model_index, tmp_path
):
    broken = tmp_path / "broken"
    shutil.copytree(flat_served.root, broken)
    (broken / "index.faiss").write_bytes(b"not a faiss index")
    not_an_index = tmp_path / "empty"
    not_an_index.mkdir()
    cases = [
        (tmp_path / "missing", 404, "not_found", "not an index directory under the index root"),
        (other_model_index, 422, "validation", "re-run `batik ingest`"),
        (broken, 422, "validation", "checksum"),
        (not_an_index, 422, "validation", "manifest.json"),
    ]
    for directory, status, kind, message in cases:
        answer = client.post("/v1/index/reload", json={"index_dir": str(directory)}, headers=AUTH)
        assert message in assert_envelope(answer, status, kind)["message"]
        assert client.get("/v1/index").json()["version"] == flat_served.version
        assert _search(client, text="kawung")["index"]["version"] == flat_served.version
    assert_envelope(
        client.post("/v1/index/reload", json={"index_dir": ""}, headers=AUTH), 422, "validation"
    )


def test_reload_loads_only_under_the_index_root_and_never_says_what_exists_outside(
    client, flat_served, synthetic_index, tmp_path, tmp_path_factory
):
    """Issue 16, finding 10: reload loaded any directory, and its 404 said whether a path existed."""
    outside = Path(tempfile.mkdtemp(prefix="outside-the-root-"))
    assert not outside.is_relative_to(tmp_path_factory.getbasetemp())
    try:
        valid_outside = outside / "index"
        shutil.copytree(synthetic_index, valid_outside)  # a good index, but not under the root
        link = tmp_path / "link-out"
        link.symlink_to(valid_outside, target_is_directory=True)
        messages = set()
        for index_dir in (
            str(valid_outside),
            str(outside / "missing"),
            "/etc",
            str(link),  # under the root by name, outside it once resolved
            str(tmp_path_factory.getbasetemp() / ".." / outside.name / "index"),
            str(tmp_path / "missing"),  # under the root, missing: the same answer
        ):
            answer = client.post("/v1/index/reload", json={"index_dir": index_dir}, headers=AUTH)
            message = assert_envelope(answer, 404, "not_found")["message"]
            messages.add(message.replace(index_dir, "<dir>"))
            assert client.get("/v1/index").json()["version"] == flat_served.version
        assert messages == {"<dir> is not an index directory under the index root"}
    finally:
        shutil.rmtree(outside)
    # A name relative to the root is a directory under it.
    relative = synthetic_index.relative_to(tmp_path_factory.getbasetemp())
    answer = client.post("/v1/index/reload", json={"index_dir": str(relative)}, headers=AUTH)
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": TOKEN},
        {"Authorization": f"Basic {TOKEN}"},
    ],
)
def test_reload_needs_the_admin_token(client, flat_served, half_hnsw_index, headers):
    answer = client.post(
        "/v1/index/reload", json={"index_dir": str(half_hnsw_index)}, headers=headers
    )
    assert_envelope(answer, 401, "unauthorized")
    assert answer.headers["www-authenticate"] == "Bearer"
    assert client.get("/v1/index").json()["version"] == flat_served.version


def test_reload_is_off_without_a_configured_token(retrieval_client, synthetic_index):
    answer = retrieval_client.post(
        "/v1/index/reload", json={"index_dir": str(synthetic_index)}, headers=AUTH
    )
    assert "RETRIEVAL_ADMIN_TOKEN" in assert_envelope(answer, 401, "unauthorized")["message"]


def test_searches_running_across_reloads_never_fail(client, flat_served, half_hnsw_index):
    sizes = {flat_served.version: 48, MotifIndex(half_hnsw_index).version: 24}
    answers: list = []
    stop = threading.Event()

    def searcher() -> None:
        while not stop.is_set():
            answers.append(client.post("/v1/search", json={"text": "sekar", "top_k": 5}))

    threads = [threading.Thread(target=searcher) for _ in range(3)]
    for thread in threads:
        thread.start()
    try:
        for round_ in range(6):
            target = half_hnsw_index if round_ % 2 == 0 else flat_served.root
            before = len(answers)
            reload = client.post("/v1/index/reload", json={"index_dir": str(target)}, headers=AUTH)
            assert reload.status_code == 200, reload.text
            # Let some searches run on this index before the next swap (polled, with a deadline).
            for _ in range(2000):
                if len(answers) >= before + 3:
                    break
                threading.Event().wait(0.005)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    assert len(answers) >= 18
    assert [a.status_code for a in answers if a.status_code != 200] == []
    seen = set()
    for answer in answers:
        index = answer.json()["index"]
        # Every answer is whole: its size and hits belong to the version it names.
        assert sizes[index["version"]] == index["size"]
        assert all(h["id"] < index["size"] for h in answer.json()["hits"])
        seen.add(index["version"])
    assert seen == set(sizes)
