"""Pinned hub revisions (`*_MODEL_REVISION`): every engine loads the revision it is given, and the
revision is part of the model version, so of the gateway's cache keys.

The hub is stood in for by its own cache layout (`models--org--name/snapshots/<commit>` and
`refs/<revision>`), read in offline mode by the same `from_pretrained` calls that download in
production: two revisions of one repository id hold different weights.
"""

from __future__ import annotations

import pytest
import torch

from gateway.cache import cache_key
from services.common.models import source_version
from tests.helpers import publish_to_hub_cache


@pytest.fixture
def hub_cache(tmp_path, monkeypatch):
    import huggingface_hub.constants

    cache = tmp_path / "hub"
    # huggingface_hub reads the cache folder at call time: every library below goes through it.
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))
    return cache


@pytest.fixture(scope="module")
def second_sd(tmp_path_factory):
    """Another tiny SD (different seed): the repository's other revision."""
    from services.common.tiny import build_tiny_controlnet, build_tiny_sd

    out = tmp_path_factory.mktemp("second-sd")
    sd = build_tiny_sd(out / "sd", seed=1)
    return {"sd": sd, "controlnet": build_tiny_controlnet(sd, out / "controlnet", seed=1)}


def first_weight(module) -> torch.Tensor:
    """A fingerprint of a model's weights: the first values of every parameter."""
    return torch.cat([p.detach().flatten()[:4] for p in module.parameters()])


def test_a_revision_is_part_of_a_hub_ids_version():
    assert source_version("org/model") == "org/model"
    assert source_version("org/model", "v1") == "org/model@v1"
    assert source_version("org/model", "v1") != source_version("org/model", "v2")


def test_a_local_directory_is_versioned_by_its_files_whatever_the_revision(tiny_models):
    local = str(tiny_models["sd"])
    assert source_version(local, "v1") == source_version(local)


def test_the_revision_changes_the_cache_key():
    request = {"text": "kawung", "seed": 1}
    key = {
        rev: cache_key(request, None, {"generation": source_version("org/sd", rev)})
        for rev in (None, "v1", "v2")
    }
    assert len(set(key.values())) == 3
    assert cache_key(request, None, {"generation": source_version("org/sd", "v1")}) == key["v1"]


def test_generation_loads_the_pinned_revisions_and_reports_them(hub_cache, tiny_models, second_sd):
    from fastapi.testclient import TestClient

    from services.generation.app import create_app
    from services.generation.config import GenerationSettings
    from tests.conftest import wait_ready

    publish_to_hub_cache(hub_cache, "org/sd", {"v1": tiny_models["sd"], "v2": second_sd["sd"]})
    publish_to_hub_cache(
        hub_cache, "org/cn", {"c1": tiny_models["controlnet"], "c2": second_sd["controlnet"]}
    )
    answers = {}
    for model_rev, cn_rev, source in (("v1", "c1", tiny_models), ("v2", "c2", second_sd)):
        settings = GenerationSettings(
            model="org/sd",
            model_revision=model_rev,
            controlnet="org/cn",
            controlnet_revision=cn_rev,
            warmup=False,
        )
        with TestClient(create_app(settings), raise_server_exceptions=False) as client:
            wait_ready(client)
            ready = client.get("/readyz").json()
            engine = client.app.state.engine
            from diffusers import ControlNetModel, UNet2DConditionModel

            expected_unet = UNet2DConditionModel.from_pretrained(
                str(source["sd"]), subfolder="unet"
            )
            expected_cn = ControlNetModel.from_pretrained(str(source["controlnet"]))
            assert torch.equal(first_weight(engine.img2img.unet), first_weight(expected_unet))
            controlnet = engine.controlled["img2img"].controlnet
            assert torch.equal(first_weight(controlnet), first_weight(expected_cn))
            answers[model_rev] = ready["model_version"]
    assert answers == {"v1": "org/sd@v1+org/cn@c1", "v2": "org/sd@v2+org/cn@c2"}


def test_an_unknown_revision_fails_the_load(hub_cache, tiny_models):
    from services.generation.generator import SdGenerator

    publish_to_hub_cache(hub_cache, "org/sd", {"v1": tiny_models["sd"]})
    with pytest.raises(OSError, match="revision"):
        SdGenerator("org/sd", device="cpu", revision="v9")


def test_retrieval_encoders_load_the_pinned_revision(hub_cache, tmp_path, tiny_models):
    from transformers import CLIPModel

    from services.common.tiny import build_tiny_clip, build_tiny_multilingual
    from services.retrieval.encoder import ClipEncoder
    from services.retrieval.multilingual import MultilingualTextEncoder

    other_clip = build_tiny_clip(tmp_path / "clip-2", seed=5)
    publish_to_hub_cache(hub_cache, "org/clip", {"r1": tiny_models["clip"], "r2": other_clip})
    encoder = ClipEncoder("org/clip", device="cpu", revision="r2")
    assert encoder.version == "org/clip@r2"
    expected = CLIPModel.from_pretrained(str(other_clip))
    assert torch.equal(first_weight(encoder.model), first_weight(expected))
    assert not torch.equal(
        first_weight(ClipEncoder("org/clip", device="cpu", revision="r1").model),
        first_weight(expected),
    )

    texts = {seed: build_tiny_multilingual(tmp_path / f"text-{seed}", seed=seed) for seed in (1, 2)}
    publish_to_hub_cache(hub_cache, "org/text", {"t1": texts[1], "t2": texts[2]})
    vectors = {
        rev: MultilingualTextEncoder("org/text", device="cpu", revision=rev).embed_texts(["kawung"])
        for rev in ("t1", "t2")
    }
    local = MultilingualTextEncoder(str(texts[2]), device="cpu").embed_texts(["kawung"])
    assert (vectors["t2"] == local).all() and not (vectors["t1"] == local).all()


def test_ingest_records_the_revision_and_a_service_on_another_one_refuses_the_index(
    hub_cache, tmp_path, tiny_models, synthetic_dataset
):
    from services.retrieval.encoder import ClipEncoder
    from services.retrieval.index import InvalidIndex
    from services.retrieval.ingest import ingest
    from services.retrieval.served_index import load_index

    publish_to_hub_cache(
        hub_cache, "org/clip", {"r1": tiny_models["clip"], "r2": tiny_models["clip"]}
    )
    images, workbook = synthetic_dataset
    out = tmp_path / "index"
    ingest(images, workbook, out, model_source="org/clip", model_revision="r1", progress=False)
    index = load_index(out, "cpu").index
    assert index.manifest["model"]["version"] == "org/clip@r1"
    index.check_model(ClipEncoder("org/clip", device="cpu", revision="r1").version, index.dim)
    # The same weights under another revision name are still another pin: re-ingest.
    with pytest.raises(InvalidIndex, match="re-run `batik ingest`"):
        index.check_model("org/clip@r2", index.dim)


def test_captioning_loads_the_pinned_model_and_adapter_revisions(hub_cache, tmp_path, tiny_models):
    from peft import LoraConfig, get_peft_model
    from transformers import Blip2ForConditionalGeneration

    from services.captioning.captioner import Blip2Captioner

    adapters = {}
    for seed in (1, 2):
        torch.manual_seed(seed)
        base = Blip2ForConditionalGeneration.from_pretrained(str(tiny_models["blip2"]))
        model = get_peft_model(base, LoraConfig(r=4, target_modules=["q_proj", "v_proj"]))
        for name, param in model.named_parameters():
            if "lora_" in name:
                torch.nn.init.normal_(param, std=0.3)
        model.save_pretrained(str(tmp_path / f"adapter-{seed}"))
        adapters[seed] = tmp_path / f"adapter-{seed}"
    publish_to_hub_cache(hub_cache, "org/blip2", {"b1": tiny_models["blip2"]})
    publish_to_hub_cache(hub_cache, "org/lora", {"a1": adapters[1], "a2": adapters[2]})

    def merged_weight(revision: str) -> torch.Tensor:
        captioner = Blip2Captioner(
            "org/blip2", revision="b1", adapter="org/lora", adapter_revision=revision, device="cpu"
        )
        assert captioner.version == f"org/blip2@b1+org/lora@{revision}"
        layer = captioner.model.language_model.model.decoder.layers[0].self_attn.q_proj
        weight = getattr(layer, "base_layer", layer).weight
        return weight.detach().flatten()[:16].clone()

    assert not torch.equal(merged_weight("a1"), merged_weight("a2"))


def test_the_gateway_tokenizer_loads_the_pinned_revision(hub_cache, tiny_models):
    from gateway.composition import load_token_counter
    from gateway.config import GatewaySettings

    publish_to_hub_cache(hub_cache, "org/sd", {"v1": tiny_models["sd"]})
    count = load_token_counter(GatewaySettings(tokenizer="org/sd", tokenizer_revision="v1"))
    local = load_token_counter(GatewaySettings(tokenizer=str(tiny_models["sd"])))
    assert count("batik nitik, dotted kawung") == local("batik nitik, dotted kawung") > 0
    # transformers would build a 2-token tokenizer from the missing revision: refused instead.
    with pytest.raises(OSError, match="no CLIP vocabulary"):
        load_token_counter(GatewaySettings(tokenizer="org/sd", tokenizer_revision="v2"))


def test_a_revision_passed_with_a_local_directory_loads_it(tiny_models):
    from services.generation.generator import SdGenerator
    from services.retrieval.encoder import ClipEncoder

    pinned = SdGenerator(str(tiny_models["sd"]), device="cpu", revision="v1")
    assert pinned.version == source_version(str(tiny_models["sd"]))
    assert ClipEncoder(str(tiny_models["clip"]), device="cpu", revision="v1").dim == 16


def test_the_fine_tuning_jobs_load_the_pinned_revision(hub_cache, tmp_path, tiny_models, second_sd):
    """`batik finetune` and `batik finetune-style` train on the revision the service serves."""
    from transformers import Blip2ForConditionalGeneration

    from services.captioning.finetune.model import LoraOptions, load_for_training
    from services.common.tiny import build_tiny_blip2
    from services.generation.finetune_style.model import load_components

    publish_to_hub_cache(hub_cache, "org/sd", {"v1": tiny_models["sd"], "v2": second_sd["sd"]})
    components = load_components("org/sd", rank=4, device="cpu", precision="fp32", revision="v2")
    from diffusers import UNet2DConditionModel

    expected = UNet2DConditionModel.from_pretrained(str(second_sd["sd"]), subfolder="unet")
    # conv_in carries no LoRA layer: it is the base weight as loaded.
    assert torch.equal(components.unet.conv_in.weight.detach(), expected.conv_in.weight.detach())

    other_blip2 = build_tiny_blip2(tmp_path / "blip2-2", seed=3)
    publish_to_hub_cache(hub_cache, "org/blip2", {"b1": tiny_models["blip2"], "b2": other_blip2})
    loaded = load_for_training(
        "org/blip2", LoraOptions(r=4), device="cpu", quantize="none", revision="b2"
    )
    expected = Blip2ForConditionalGeneration.from_pretrained(str(other_blip2))
    vision = loaded.model.get_base_model().vision_model.embeddings.patch_embedding.weight
    assert torch.equal(vision.detach(), expected.vision_model.embeddings.patch_embedding.weight)


def test_eval_loads_the_clip_revision_the_index_was_built_with(
    hub_cache, tmp_path, tiny_models, synthetic_dataset
):
    """`batik eval` without --clip takes the model *and* revision from the index's manifest: the
    repository here has no `main`, so an unpinned load could not even find the weights."""
    import json

    from services.cli import main
    from services.retrieval.ingest import ingest

    publish_to_hub_cache(hub_cache, "org/clip", {"r1": tiny_models["clip"]})
    images, workbook = synthetic_dataset
    index = tmp_path / "index"
    ingest(images, workbook, index, model_source="org/clip", model_revision="r1", progress=False)
    out = tmp_path / "report"
    assert main(["eval", "retrieval", "--index", str(index), "--out", str(out)]) == 0
    clip = json.loads((out / "metrics.json").read_text())["provenance"]["models"]["clip"]
    assert clip == {"source": "org/clip", "version": "org/clip@r1"}
