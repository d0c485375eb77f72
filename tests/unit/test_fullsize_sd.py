"""SD 1.5 and the Canny ControlNet built from the published hub configs: hub layout, real structure
values, loaded through the service's own loading code."""

from __future__ import annotations

import json

import pytest

from services.common.fullsize.hubfiles import REAL_CONFIGS, read_json
from services.common.fullsize.sd import (
    CONTROLNET_REPO,
    SD15_LATENT_CHANNELS,
    SD15_SCALING_FACTOR,
    SD15_VAE_SCALE_FACTOR,
    SD_REPO,
    TINY_CONTROLNET,
    TINY_TEXT,
    TINY_UNET,
    TINY_VAE,
)
from services.generation.generator import SdGenerator

PUBLISHED = REAL_CONFIGS / SD_REPO
HUB_FILES = {
    "model_index.json",
    "scheduler/scheduler_config.json",
    "unet/config.json",
    "unet/diffusion_pytorch_model.safetensors",
    "vae/config.json",
    "vae/diffusion_pytorch_model.safetensors",
    "text_encoder/config.json",
    "text_encoder/model.safetensors",
    "tokenizer/vocab.json",
    "tokenizer/merges.txt",
    "tokenizer/tokenizer_config.json",
    "tokenizer/special_tokens_map.json",
}


@pytest.fixture(scope="module")
def engine(real_config_sd) -> SdGenerator:
    return SdGenerator(
        str(real_config_sd["sd"]), device="cpu", controlnet=str(real_config_sd["controlnet"])
    )


def test_the_fixtures_hold_the_published_values():
    unet = read_json(PUBLISHED / "unet" / "config.json")
    assert unet["block_out_channels"] == [320, 640, 1280, 1280] and unet["sample_size"] == 64
    assert unet["cross_attention_dim"] == 768
    text = read_json(PUBLISHED / "text_encoder" / "config.json")
    assert (text["hidden_size"], text["vocab_size"], text["max_position_embeddings"]) == (
        768,
        49408,
        77,
    )
    assert "scaling_factor" not in read_json(PUBLISHED / "vae" / "config.json")  # the default
    assert read_json(PUBLISHED / "scheduler" / "scheduler_config.json")["_class_name"] == (
        "PNDMScheduler"
    )
    controlnet = read_json(REAL_CONFIGS / CONTROLNET_REPO / "config.json")
    assert controlnet["conditioning_embedding_out_channels"] == [16, 32, 96, 256]


def test_the_directory_has_the_hub_layout(real_config_sd):
    sd = real_config_sd["sd"]
    assert {str(p.relative_to(sd)) for p in sd.rglob("*") if p.is_file()} == HUB_FILES
    # Files that need no resizing are the published ones, byte for byte.
    for name in ("model_index.json", "scheduler/scheduler_config.json"):
        assert (sd / name).read_bytes() == (PUBLISHED / name).read_bytes(), name
    for name in ("tokenizer_config.json", "special_tokens_map.json"):
        assert (sd / "tokenizer" / name).read_bytes() == (
            PUBLISHED / "tokenizer" / name
        ).read_bytes()


@pytest.mark.parametrize(
    ("part", "tiny_keys"),
    [("unet", TINY_UNET), ("vae", TINY_VAE), ("text_encoder", TINY_TEXT)],
)
def test_a_tiny_config_differs_from_the_published_one_in_widths_only(
    real_config_sd, part, tiny_keys
):
    built = json.loads((real_config_sd["sd"] / part / "config.json").read_text())
    published = read_json(PUBLISHED / part / "config.json")
    assert list(built) == list(published)  # the same keys, in the hub's order
    changed = {key for key in published if built[key] != published[key]}
    assert changed <= set(tiny_keys) and changed


def test_the_controlnet_config_differs_in_widths_only(real_config_sd):
    built = json.loads((real_config_sd["controlnet"] / "config.json").read_text())
    published = read_json(REAL_CONFIGS / CONTROLNET_REPO / "config.json")
    changed = {key for key in published if built[key] != published[key]}
    assert changed <= set(TINY_CONTROLNET)
    assert built["conditioning_embedding_out_channels"] == [16, 32, 96, 256]


def test_the_engine_loads_it_with_the_real_structure_values(engine):
    pipe = engine.img2img
    assert pipe.vae.config.scaling_factor == SD15_SCALING_FACTOR
    assert pipe.vae.config.latent_channels == SD15_LATENT_CHANNELS
    assert pipe.unet.config.in_channels == SD15_LATENT_CHANNELS
    assert pipe.vae_scale_factor == SD15_VAE_SCALE_FACTOR
    assert pipe.unet.config.sample_size == 64  # 64 latents x 8 = SD 1.5's 512 px default
    assert pipe.unet.config.cross_attention_dim == pipe.text_encoder.config.hidden_size
    text = pipe.text_encoder.config
    assert (text.vocab_size, text.max_position_embeddings) == (49408, 77)
    assert (text.bos_token_id, text.eos_token_id, text.pad_token_id) == (0, 2, 1)
    assert engine.tokenizer.model_max_length == 77
    assert engine.tokenizer.pad_token == "<|endoftext|>"
    # The model's own PNDM scheduler, with the published schedule.
    assert engine.default_scheduler == "pndm"
    config = engine.base_scheduler.config
    assert (config.beta_start, config.beta_end, config.beta_schedule) == (
        0.00085,
        0.012,
        "scaled_linear",
    )
    assert (config.steps_offset, config.skip_prk_steps, config.set_alpha_to_one) == (
        1,
        True,
        False,
    )
    controlnet = engine.controlled["img2img"].controlnet
    assert controlnet.config.cross_attention_dim == text.hidden_size
    # OpenAI's CLIP BPE (tests/fixtures/clip_vocab): exactly the text encoder's vocabulary.
    assert len(engine.tokenizer) == text.vocab_size
    assert engine.tokenizer("a photo of a cat")["input_ids"] == [
        49406,
        320,
        1125,
        539,
        320,
        2368,
        49407,
    ]


def test_the_full_size_configs_are_the_published_ones():
    from services.common.fullsize.sd import controlnet_config, sd15_config

    for part in ("unet", "vae", "text_encoder"):
        assert sd15_config(part) == read_json(PUBLISHED / part / "config.json")
    assert controlnet_config() == read_json(REAL_CONFIGS / CONTROLNET_REPO / "config.json")
