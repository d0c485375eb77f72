"""The multilingual text tower: loaded from a tiny local sentence-transformers directory, used for
text queries and text embeddings, while images keep CLIP's image tower."""

import numpy as np
import pytest
from fastapi.testclient import TestClient

from tests.conftest import wait_ready
from tests.helpers import b64


@pytest.fixture(scope="module")
def tiny_multilingual(tmp_path_factory):
    from services.common.tiny import build_tiny_multilingual

    return build_tiny_multilingual(tmp_path_factory.mktemp("tiny-multilingual") / "m", dim=16)


@pytest.fixture(scope="module")
def client(tiny_models, synthetic_index, tiny_multilingual):
    from services.retrieval.app import create_app
    from services.retrieval.config import RetrievalSettings

    settings = RetrievalSettings(
        model=str(tiny_models["clip"]),
        index_dir=str(synthetic_index),
        text_model=str(tiny_multilingual),
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        wait_ready(client)
        yield client


def test_the_tiny_tower_has_the_real_ones_layout(tiny_multilingual):
    import json

    modules = json.loads((tiny_multilingual / "modules.json").read_text())
    assert [m["path"] for m in modules] == ["", "1_Pooling", "2_Dense"]
    dense = json.loads((tiny_multilingual / "2_Dense" / "config.json").read_text())
    assert (dense["in_features"], dense["out_features"], dense["bias"]) == (32, 16, False)


def test_text_queries_use_the_multilingual_tower_and_images_clip(
    client, tiny_models, tiny_multilingual, synthetic_dataset
):
    from PIL import Image

    from services.retrieval.encoder import ClipEncoder
    from services.retrieval.multilingual import MultilingualTextEncoder

    engine = client.app.state.engine
    clip = ClipEncoder(str(tiny_models["clip"]))
    multilingual = MultilingualTextEncoder(str(tiny_multilingual), device="cpu")
    text = "bunga putih dengan titik"
    expected_text = multilingual.embed_texts([text])[0]
    assert not np.allclose(expected_text, clip.embed_texts([text])[0], atol=1e-3)
    assert np.allclose(engine.encoder.vector(text, None), expected_text, atol=1e-5)

    images, _ = synthetic_dataset
    image = Image.open(images / "3 Kawung Nitik 2.jpg").convert("RGB")
    assert np.allclose(engine.encoder.vector(None, image), clip.embed_images([image])[0], atol=1e-5)

    # /v1/embed answers the vectors searches use, and says which tower made the texts
    raw = (images / "3 Kawung Nitik 2.jpg").read_bytes()
    body = client.post("/v1/embed", json={"texts": [text], "images": [b64(raw)]}).json()
    assert body["text_model"] == str(tiny_multilingual)
    assert np.allclose(body["texts"][0], expected_text, atol=1e-5)
    assert np.allclose(body["images"][0], clip.embed_images([image])[0], atol=1e-5)

    # the search answer names the tower, and its cosines are against the multilingual vector
    answer = client.post("/v1/search", json={"text": text, "lexical_weight": 0}).json()
    assert answer["query"]["text_model"] == str(tiny_multilingual)
    stored = engine.index.index.reconstruct_n(0, engine.index.size)
    for hit in answer["hits"]:
        assert hit["score"] == pytest.approx(float(stored[hit["id"]] @ expected_text), abs=1e-5)
    image_answer = client.post("/v1/search", json={"image": b64(raw)}).json()
    assert image_answer["query"]["text_model"] is None
    assert image_answer["hits"][0]["score"] == pytest.approx(1.0, abs=1e-3)


def test_the_cache_version_names_both_towers(client, tiny_multilingual):
    ready = client.get("/readyz").json()
    assert ready["text_model"] == str(tiny_multilingual)
    assert ready["model_version"].startswith(ready["clip_version"] + "+m@")


def test_a_tower_of_another_dimension_is_refused(tmp_path, tiny_models, synthetic_index):
    from services.common.tiny import build_tiny_multilingual
    from services.retrieval.engine import RetrievalEngine

    wrong = build_tiny_multilingual(tmp_path / "eight", dim=8)
    with pytest.raises(ValueError, match="8-dimensional"):
        RetrievalEngine.load(
            str(tiny_models["clip"]),
            str(synthetic_index),
            device="cpu",
            dtype="auto",
            batch_size=4,
            text_model=str(wrong),
        )
