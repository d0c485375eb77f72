"""The served model's adapters: the default merged, others unmerged on demand, with no drift."""

import pytest
from PIL import Image

from services.captioning.adapters import AdapterRegistry
from services.common.errors import NotFoundError, to_service_error


@pytest.fixture(scope="module")
def two_adapters(tmp_path_factory, tiny_models):
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import Blip2ForConditionalGeneration

    root = tmp_path_factory.mktemp("lora-root")
    for seed, name in ((1, "one"), (2, "two")):
        torch.manual_seed(seed)
        base = Blip2ForConditionalGeneration.from_pretrained(str(tiny_models["blip2"]))
        config = LoraConfig(r=4, lora_alpha=64, target_modules=["q_proj", "v_proj"])
        model = get_peft_model(base, config, adapter_name="default")
        for param_name, param in model.named_parameters():
            if "lora_" in param_name:  # random A and B: the adapter changes the outputs
                torch.nn.init.normal_(param, std=0.3)
        model.save_pretrained(str(root / name))
    return root


def test_registry_resolves_names_default_and_base(two_adapters):
    registry = AdapterRegistry(str(two_adapters), "one")
    assert [e.name for e in registry.entries()] == ["one", "two"]
    assert registry.resolve(None).name == "one"
    assert registry.resolve("two").source == str(two_adapters / "two")
    assert registry.resolve("none") is None
    with pytest.raises(NotFoundError) as caught:
        registry.resolve("three")
    assert to_service_error(caught.value).status == 404


def test_registry_takes_a_default_outside_the_root(two_adapters):
    registry = AdapterRegistry(None, str(two_adapters / "two"))
    assert [e.name for e in registry.entries()] == ["two"]
    assert registry.resolve(None).name == "two"


def test_switching_adapters_restores_the_merged_weights_bit_for_bit(tiny_models, two_adapters):
    import torch

    from services.captioning.captioner import Blip2Captioner

    captioner = Blip2Captioner(
        str(tiny_models["blip2"]),
        adapter="one",
        adapters_dir=str(two_adapters),
        dtype="bfloat16",  # as served on GPU: bf16 rounding is where merge/unmerge would drift
    )
    merged = {k: v.clone() for k, v in captioner.model.state_dict().items() if "lora_" not in k}
    inputs = captioner.processor(
        images=Image.new("RGB", (64, 64), "red"), text="a", return_tensors="pt"
    )

    def logits():
        with torch.inference_mode():
            return captioner.model(**inputs).logits

    merged_logits = logits()
    registry = captioner.registry
    for _ in range(3):
        captioner.lora.use(registry.resolve("two"), registry.default)
        two_logits = logits()
        captioner.lora.use(None, registry.default)
        base_logits = logits()
        captioner.lora.use(registry.default, registry.default)
    assert captioner.lora.merged == "one"
    for key, value in captioner.model.state_dict().items():
        if "lora_" not in key:
            assert torch.equal(value, merged[key]), key
    assert torch.equal(logits(), merged_logits)
    assert not torch.allclose(two_logits, merged_logits)
    assert not torch.allclose(base_logits, merged_logits)
    assert not torch.allclose(base_logits, two_logits)
