"""The services on models built from the real hub configurations (tests/fixtures/real_configs).

Tiny widths, but the real interface: BLIP-2 with 32 query tokens on 224 px images, `<image>` 50265,
eos 50118 distinct from `</s>` 2, a 50304-token language model; CLIP with 224 px images, the published
old-format preprocessor config and OpenAI's BPE vocabulary (49408 tokens). The same `from_pretrained`
code paths as the tiny-model tests, through the HTTP handlers.
"""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from tests.conftest import wait_ready
from tests.helpers import b64, gateway_app, image_bytes

MOTIF = b64(image_bytes(Image.new("RGB", (300, 200), (92, 52, 28))))


@pytest.fixture(scope="module")
def real_index(tmp_path_factory, real_config_models, synthetic_dataset):
    from services.retrieval.ingest import ingest

    out = tmp_path_factory.mktemp("real-config-index") / "index"
    images, workbook = synthetic_dataset
    ingest(images, workbook, out, model_source=str(real_config_models["clip"]), progress=False)
    return out


@pytest.fixture(scope="module")
def real_retrieval(real_config_models, real_index):
    from services.retrieval.app import create_app
    from services.retrieval.config import RetrievalSettings

    settings = RetrievalSettings(model=str(real_config_models["clip"]), index_dir=str(real_index))
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        wait_ready(client)
        yield client


@pytest.fixture(scope="module")
def real_captioning(real_config_models):
    from services.captioning.app import create_app
    from services.captioning.config import CaptioningSettings

    settings = CaptioningSettings(model=str(real_config_models["blip2"]), min_caption_words=1)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        wait_ready(client)
        yield client


def test_the_built_models_keep_the_published_interface(real_config_models):
    from transformers import Blip2Config, CLIPConfig

    from services.common.fullsize.hubfiles import REAL_CONFIGS, read_json

    blip2 = Blip2Config.from_pretrained(str(real_config_models["blip2"]))
    published = read_json(REAL_CONFIGS / "blip2-opt-2.7b" / "config.json")
    assert blip2.num_query_tokens == published["num_query_tokens"] == 32
    assert blip2.image_token_index == published["image_token_index"] == 50265
    assert blip2.text_config.eos_token_id == 50118 and blip2.text_config.bos_token_id == 2
    assert blip2.text_config.vocab_size == 50304 and blip2.qformer_config.vocab_size == 30522
    assert blip2.vision_config.image_size == 224 and blip2.vision_config.patch_size == 14
    assert blip2.text_config.hidden_size == 32  # tiny width
    for name in ("generation_config.json", "preprocessor_config.json", "processor_config.json"):
        assert read_json(real_config_models["blip2"] / name) == read_json(
            REAL_CONFIGS / "blip2-opt-2.7b" / name
        ), name
    clip = CLIPConfig.from_pretrained(str(real_config_models["clip"]))
    assert clip.vision_config.image_size == 224 and clip.vision_config.patch_size == 32
    assert clip.text_config.vocab_size == 49408 and clip.text_config.max_position_embeddings == 77
    assert read_json(real_config_models["clip"] / "preprocessor_config.json")["size"] == 224


def test_full_size_configurations_have_the_published_parameter_counts():
    """On the meta device: the full-size builds are the real architectures (no memory used)."""
    import torch
    from transformers import Blip2ForConditionalGeneration, CLIPModel

    from services.common.fullsize.blip2 import blip2_config
    from services.common.fullsize.clip import clip_config

    with torch.device("meta"):
        blip2 = Blip2ForConditionalGeneration(blip2_config(tiny=False))
        clip = CLIPModel(clip_config(tiny=False))
    blip2_params = sum(p.numel() for p in blip2.parameters())
    clip_params = sum(p.numel() for p in clip.parameters())
    assert 3.7e9 < blip2_params < 3.9e9, blip2_params  # "BLIP-2 OPT-2.7b": 3.745 B
    assert 1.50e8 < clip_params < 1.53e8, clip_params  # ViT-B/32: 151.3 M


def test_captioning_serves_the_real_configuration(real_captioning, real_config_models):
    ready = real_captioning.get("/readyz")
    assert ready.status_code == 200
    answer = real_captioning.post("/v1/caption", json={"image": MOTIF, "max_new_tokens": 6})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["model"] == str(real_config_models["blip2"])
    assert isinstance(body["caption"], str) and body["caption"]
    vqa = real_captioning.post(
        "/v1/vqa", json={"image": MOTIF, "question": "what motif is this?", "max_new_tokens": 4}
    )
    assert vqa.status_code == 200, vqa.text


def test_the_image_reaches_the_language_model_through_32_query_tokens(real_config_models):
    """Two images give different logits: the processor inserts the 32 `<image>` tokens the model's
    config names, or BLIP-2 silently ignores the picture."""
    import torch

    from services.captioning.captioner import Blip2Captioner

    captioner = Blip2Captioner(str(real_config_models["blip2"]), device="cpu")
    images = [Image.new("RGB", (224, 224), c) for c in ((250, 250, 250), (10, 10, 120))]
    inputs = captioner.processor(images=images, text=["a batik"] * 2, return_tensors="pt")
    assert int((inputs["input_ids"][0] == 50265).sum()) == 32
    assert tuple(inputs["pixel_values"].shape[-2:]) == (224, 224)
    with torch.inference_mode():
        logits = captioner.model(**inputs).logits[:, -1]
    assert not torch.allclose(logits[0], logits[1])


def test_retrieval_serves_the_real_configuration(
    real_retrieval, real_config_models, real_index, synthetic_dataset
):
    from services.retrieval.encoder import ClipEncoder
    from services.retrieval.index import MotifIndex

    answer = real_retrieval.post(
        "/v1/search", json={"text": "sekar bunga", "top_k": 5, "lexical_weight": 0}
    )
    assert answer.status_code == 200, answer.text
    encoder = ClipEncoder(str(real_config_models["clip"]))
    index = MotifIndex(real_index)
    query = encoder.embed_texts(["sekar bunga"])[0]
    for hit in answer.json()["hits"]:
        assert hit["score"] == pytest.approx(
            float(np.dot(query, index.index.reconstruct(hit["id"]))), abs=1e-5
        )
    images, _ = synthetic_dataset
    first = sorted(images.glob("*.jpg"))[0]
    by_image = real_retrieval.post(
        "/v1/search", json={"image": b64(first.read_bytes()), "top_k": 1, "dedupe": False}
    ).json()
    assert by_image["hits"][0]["file"] == first.name


def test_gateway_fuses_with_the_real_clip_vocabulary(
    real_retrieval, real_captioning, real_config_models, tiny_models
):
    """The RAG flow on the real-configuration retrieval and captioning, fusing under OpenAI's BPE."""
    from transformers import CLIPTokenizer

    app = gateway_app(
        tiny_models,
        {"retrieval": real_retrieval.app, "captioning": real_captioning.app},
        tokenizer=str(real_config_models["clip_tokenizer"]),
        tokenizer_subfolder=None,
    )
    tokenizer = CLIPTokenizer.from_pretrained(str(real_config_models["clip_tokenizer"]))
    with TestClient(app, raise_server_exceptions=False) as client:
        wait_ready(client)
        answer = client.post(
            "/v1/rag",
            json={"text": "motif batik sekar dengan bunga coklat " * 6, "generate": False},
        )
    assert answer.status_code == 200, answer.text
    prompt = answer.json()["prompt"]
    assert prompt["tokens"] == len(tokenizer(prompt["text"])["input_ids"]) <= 77
    assert prompt["truncated"]


def test_retrieval_with_the_multilingual_tower_in_its_published_layout(
    real_config_models, real_index
):
    """The published sentence-transformers layout (modules, pooling, bias-free 512-d Dense) loads
    beside the real-configuration CLIP: both speak 512-d, and text queries go through the tower."""
    from services.common.fullsize.hubfiles import REAL_CONFIGS, read_json
    from services.retrieval.app import create_app
    from services.retrieval.config import RetrievalSettings
    from services.retrieval.index import MotifIndex
    from services.retrieval.multilingual import MultilingualTextEncoder

    tower = real_config_models["multilingual"]
    published = REAL_CONFIGS / "clip-ViT-B-32-multilingual-v1"
    for name in ("modules.json", "sentence_bert_config.json", "1_Pooling/config.json"):
        built, real = read_json(tower / name), read_json(published / name)
        if name.startswith("1_"):
            built, real = (
                {k: v for k, v in d.items() if k != "word_embedding_dimension"}
                for d in (built, real)
            )
        assert built == real, name
    dense = read_json(tower / "2_Dense" / "config.json")
    assert dense["out_features"] == 512 and dense["bias"] is False

    settings = RetrievalSettings(
        model=str(real_config_models["clip"]), index_dir=str(real_index), text_model=str(tower)
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        wait_ready(client)
        answer = client.post(
            "/v1/search", json={"text": "bunga sekar coklat", "top_k": 3, "lexical_weight": 0}
        )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["query"]["text_model"] == str(tower)
    query = MultilingualTextEncoder(str(tower), device="cpu").embed_texts(["bunga sekar coklat"])[0]
    index = MotifIndex(real_index)
    for hit in body["hits"]:
        expected = float(np.dot(query, index.index.reconstruct(hit["id"])))
        assert hit["score"] == pytest.approx(expected, abs=1e-5)
