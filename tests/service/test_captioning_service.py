import pytest
from PIL import Image

from tests.helpers import assert_envelope, b64, bad_image_corpus, image_bytes

MOTIF = b64(image_bytes(Image.new("RGB", (80, 80), (92, 52, 28))))


def test_caption(captioning_client, tiny_models):
    answer = captioning_client.post("/v1/caption", json={"image": MOTIF, "max_new_tokens": 8})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert isinstance(body["caption"], str)
    assert body["model"] == str(tiny_models["blip2"])
    assert body["adapter"] is None


def test_caption_with_prompt_does_not_echo_it(captioning_client):
    prompt = "a batik motif of"
    body = captioning_client.post(
        "/v1/caption", json={"image": MOTIF, "prompt": prompt, "max_new_tokens": 6}
    ).json()
    assert not body["caption"].startswith(prompt)


@pytest.mark.parametrize(
    "body",
    [{}, {"image": MOTIF, "max_new_tokens": 0}, {"image": MOTIF, "max_new_tokens": 1000}],
)
def test_bad_requests(captioning_client, body):
    assert_envelope(captioning_client.post("/v1/caption", json=body), 422, "validation")


@pytest.mark.parametrize(("name", "case"), bad_image_corpus().items())
def test_bad_images(captioning_client, name, case):
    payload, status, kind = case
    assert_envelope(captioning_client.post("/v1/caption", json={"image": payload}), status, kind)


def test_adapter_is_merged_and_changes_the_output(tmp_path, tiny_models):
    """A LoRA adapter saved by peft loads, merges, and really acts on the weights."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import Blip2ForConditionalGeneration

    from services.captioning.captioner import Blip2Captioner

    base = Blip2ForConditionalGeneration.from_pretrained(str(tiny_models["blip2"]))
    peft_model = get_peft_model(
        base,
        LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False),
    )
    peft_model.save_pretrained(str(tmp_path / "adapter"))

    plain = Blip2Captioner(str(tiny_models["blip2"]))
    tuned = Blip2Captioner(str(tiny_models["blip2"]), adapter=str(tmp_path / "adapter"))
    inputs = plain.processor(
        images=Image.new("RGB", (64, 64), "red"), text="a", return_tensors="pt"
    )
    with torch.inference_mode():
        assert not torch.allclose(plain.model(**inputs).logits, tuned.model(**inputs).logits)
    assert "lora" not in " ".join(n for n, _ in tuned.model.named_parameters()).lower()
    assert tuned.describe()["adapter"] == str(tmp_path / "adapter")
    assert tuned.version != plain.version
