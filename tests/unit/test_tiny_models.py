"""The tiny models load through the production classes and behave like the real ones structurally."""

import numpy as np
import pytest
from PIL import Image

from services.captioning.captioner import Blip2Captioner, strip_prompt_echo
from services.retrieval.encoder import ClipEncoder


def test_layout(tiny_models):
    assert (tiny_models["clip"] / "config.json").is_file()
    assert (tiny_models["blip2"] / "config.json").is_file()
    for part in ("unet", "vae", "text_encoder", "tokenizer", "scheduler"):
        assert (tiny_models["sd"] / part).is_dir()


def test_clip_embeddings_are_unit_vectors_and_image_dependent(tiny_models):
    encoder = ClipEncoder(str(tiny_models["clip"]))
    images = [Image.new("RGB", (64, 64), c) for c in ("red", "blue")]
    vectors = encoder.embed_images(images)
    texts = encoder.embed_texts(["batik nitik", "sekar jagad"])
    assert vectors.shape == (2, encoder.dim) and texts.shape == (2, encoder.dim)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert not np.allclose(vectors[0], vectors[1])
    assert not np.allclose(texts[0], texts[1])


def test_blip2_sees_the_image(tiny_models):
    """Without image_token_index and num_query_tokens BLIP-2 silently ignores the image."""
    import torch

    captioner = Blip2Captioner(str(tiny_models["blip2"]))
    logits = []
    for color in ("red", "blue"):
        inputs = captioner.processor(
            images=Image.new("RGB", (64, 64), color), text="a batik", return_tensors="pt"
        )
        with torch.inference_mode():
            logits.append(captioner.model(**inputs).logits)
    assert not torch.allclose(logits[0], logits[1])


@pytest.mark.parametrize(
    ("text", "prompt", "expected"),
    [
        ("a batik motif of dotted flowers", "a batik motif of", "dotted flowers"),
        ("Question: what is this? Answer: a kawung motif", None, "a kawung motif"),
        ("dotted flowers", "a batik motif of", "dotted flowers"),
    ],
)
def test_prompt_echo_is_stripped(text, prompt, expected):
    assert strip_prompt_echo(text, prompt) == expected
