import numpy as np
import pytest
from PIL import Image

from tests.helpers import assert_envelope, b64, bad_image_corpus, image_bytes


def test_text_search_scores_are_true_cosines(retrieval_client, tiny_models, synthetic_index):
    from services.retrieval.encoder import ClipEncoder
    from services.retrieval.index import MotifIndex

    # lexical_weight 0: the visual ranking alone, in cosine order (fusion is tested on its own).
    answer = retrieval_client.post(
        "/v1/search", json={"text": "sekar bunga", "top_k": 5, "lexical_weight": 0}
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert len(body["hits"]) == 5
    scores = [h["score"] for h in body["hits"]]
    assert scores == sorted(scores, reverse=True)
    assert body["query"]["fusion"] == "visual"

    # Recompute the cosine of the query with each hit's stored image, independently of FAISS.
    encoder = ClipEncoder(str(tiny_models["clip"]))
    index = MotifIndex(synthetic_index)
    query = encoder.embed_texts(["sekar bunga"])[0]
    for hit in body["hits"]:
        vector = index.index.reconstruct(hit["id"])
        assert hit["score"] == pytest.approx(float(np.dot(query, vector)), abs=1e-5)
        assert hit["motif"]["name"] and hit["motif"]["description_en"]
        assert hit["file"] == index.items[hit["id"]].file
    assert body["index"] == {
        "version": index.version,
        "size": 48,
        "model": str(tiny_models["clip"]),
        "type": "flat",
    }


def test_image_search_finds_the_same_image_first(retrieval_client, synthetic_dataset):
    images, _ = synthetic_dataset
    raw = (images / "3 Kawung Nitik 2_rotate_90.jpg").read_bytes()
    body = retrieval_client.post("/v1/search", json={"image": b64(raw), "top_k": 3}).json()
    top = body["hits"][0]
    assert (top["motif"]["number"], top["instance"], top["rotation"]) == (3, 2, 90)
    assert top["score"] == pytest.approx(1.0, abs=1e-3)


def test_text_and_image_together(retrieval_client, synthetic_dataset):
    images, _ = synthetic_dataset
    raw = (images / "5 Truntum 1.jpg").read_bytes()
    pure_image = retrieval_client.post("/v1/search", json={"image": b64(raw)}).json()
    mostly_text = retrieval_client.post(
        "/v1/search", json={"image": b64(raw), "text": "kawung", "text_weight": 0.9}
    ).json()
    assert pure_image["hits"][0]["score"] != pytest.approx(mostly_text["hits"][0]["score"])


def test_stored_images_are_served(retrieval_client):
    answer = retrieval_client.get("/v1/images/0")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "image/jpeg"
    assert Image.open(__import__("io").BytesIO(answer.content)).size == (512, 512)
    small = retrieval_client.get("/v1/images/0", params={"size": 224})
    assert Image.open(__import__("io").BytesIO(small.content)).size == (224, 224)
    assert_envelope(retrieval_client.get("/v1/images/4800"), 404, "not_found")
    assert_envelope(retrieval_client.get("/v1/images/0", params={"size": 100}), 422, "validation")


def test_an_engine_value_error_is_a_422_not_a_500(retrieval_client):
    # The contract cannot know which motif numbers this index holds; the engine's own check (a
    # ValueError from MotifIndex.rows_of_motifs) refuses, and errors.py answers it as validation.
    answer = retrieval_client.post("/v1/search", json={"text": "kawung", "motifs": [99999]})
    assert "not in this index's metadata" in assert_envelope(answer, 422, "validation")["message"]


@pytest.mark.parametrize(
    ("body", "status", "kind"),
    [
        ({}, 422, "validation"),
        ({"text": ""}, 422, "validation"),
        ({"text": "   "}, 422, "validation"),
        ({"text": "kawung", "top_k": 0}, 422, "validation"),
        ({"text": "kawung", "top_k": 101}, 422, "validation"),
        ({"text": "kawung", "text_weight": 2}, 422, "validation"),
    ],
)
def test_bad_queries(retrieval_client, body, status, kind):
    assert_envelope(retrieval_client.post("/v1/search", json=body), status, kind)


@pytest.mark.parametrize(("name", "case"), bad_image_corpus().items())
def test_bad_images(retrieval_client, name, case):
    payload, status, kind = case
    assert_envelope(retrieval_client.post("/v1/search", json={"image": payload}), status, kind)


def test_malformed_json_and_wrong_method(retrieval_client):
    answer = retrieval_client.post(
        "/v1/search", content=b"{bad", headers={"content-type": "application/json"}
    )
    assert "not valid JSON" in assert_envelope(answer, 422, "validation")["message"]
    assert_envelope(retrieval_client.get("/v1/search"), 405, "method_not_allowed")
    assert_envelope(retrieval_client.get("/v1/nothing"), 404, "not_found")


def test_body_over_the_cap_is_413(retrieval_client):
    cap = retrieval_client.app.state.settings.max_upload_bytes
    huge = b64(image_bytes(Image.new("RGB", (8, 8)))) + "A" * (cap * 2)
    assert_envelope(
        retrieval_client.post("/v1/search", json={"image": huge}), 413, "payload_too_large"
    )


def test_request_id_is_echoed(retrieval_client):
    answer = retrieval_client.get("/healthz", headers={"X-Request-ID": "trace-123"})
    assert answer.headers["x-request-id"] == "trace-123"
    ready = retrieval_client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["index_size"] == 48


def test_index_of_another_model_keeps_the_service_unready(tmp_path, synthetic_index, tiny_models):
    import shutil

    from fastapi.testclient import TestClient

    from services.common.tiny import build_tiny_clip
    from services.retrieval.app import create_app
    from services.retrieval.config import RetrievalSettings

    other_clip = build_tiny_clip(tmp_path / "other-clip", seed=1)
    shutil.copy(tiny_models["clip"] / "config.json", other_clip / "config.json")
    (other_clip / "extra.txt").write_text("a different model directory")
    settings = RetrievalSettings(model=str(other_clip), index_dir=str(synthetic_index))
    with TestClient(create_app(settings)) as client:
        for _ in range(400):
            answer = client.get("/readyz")
            if "loading failed" in answer.text:
                break
            __import__("time").sleep(0.05)
        error = assert_envelope(answer, 503, "not_ready")
        assert "re-run `batik ingest`" in error["message"]
        assert_envelope(client.post("/v1/search", json={"text": "x"}), 503, "not_ready")
