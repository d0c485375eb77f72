"""Stable Diffusion 1.5 and its Canny ControlNet from the published hub files, with random weights.

`build_sd15(out)` writes a directory laid out as `stable-diffusion-v1-5/stable-diffusion-v1-5` is:
the published `model_index.json` (which names a safety checker and a feature extractor the service
never loads), `scheduler/scheduler_config.json`, and `unet/`, `vae/`, `text_encoder/`, `tokenizer/`
each with its published config. At full size the configs are the published files byte for byte; at
the tiny width (`tiny=True`) only the widths and depths shrink, and everything the loading and
serving code depends on stays as published: 4 latent channels, the VAE's 4 levels (scale factor 8)
and its default scaling factor 0.18215, the UNet's sample size 64 and block types, cross-attention
dim = the text encoder's hidden size, 77 positions, the vocabulary of 49408, the text config's token
ids (bos 0, eos 2, pad 1, as published), and the PNDM scheduler config. The tokenizer is OpenAI's
CLIP BPE when `tests/fixtures/clip_vocab/` has it, else the tiny one; both with the published
tokenizer configs. Everything loads through `from_pretrained`, as the hub repository would.

`build_controlnet_canny(out)` does the same for `lllyasviel/control_v11p_sd15_canny`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from services.common.fullsize.hubfiles import CLIP_BPE_VOCAB, REAL_CONFIGS, read_json

SD_REPO = "stable-diffusion-v1-5"
CONTROLNET_REPO = "control_v11p_sd15_canny"
# The published (real) structure values the tests check the built models against.
SD15_SCALING_FACTOR = 0.18215
SD15_LATENT_CHANNELS = 4
SD15_VAE_SCALE_FACTOR = 8
# Tiny width: channels stay multiples of the published norm_num_groups (32); depth 1 per block.
TINY_UNET = dict(block_out_channels=[32, 32, 64, 64], layers_per_block=1, cross_attention_dim=32)
TINY_VAE = dict(block_out_channels=[32, 32, 64, 64], layers_per_block=1)
TINY_TEXT = dict(
    hidden_size=32,
    intermediate_size=64,
    num_hidden_layers=2,
    num_attention_heads=4,
    projection_dim=32,
)
# The UNet's widths are the ControlNet's: it is a copy of the UNet's encoder.
TINY_CONTROLNET = TINY_UNET
TOKENIZER_FILES = ("tokenizer_config.json", "special_tokens_map.json")


def sd15_config(part: str, *, tiny: bool = False, configs: Path | None = None) -> dict[str, Any]:
    """The published config of one part (`unet`, `vae`, `text_encoder`), at the tiny width if asked."""
    published = read_json(Path(configs or REAL_CONFIGS) / SD_REPO / part / "config.json")
    overrides = {"unet": TINY_UNET, "vae": TINY_VAE, "text_encoder": TINY_TEXT}[part]
    return {**published, **overrides} if tiny else published


def controlnet_config(*, tiny: bool = False, configs: Path | None = None) -> dict[str, Any]:
    published = read_json(Path(configs or REAL_CONFIGS) / CONTROLNET_REPO / "config.json")
    return {**published, **TINY_CONTROLNET} if tiny else published


def _write_config(folder: Path, config: dict[str, Any]) -> None:
    """The config file as the hub has it (key order and all), over the one save_pretrained wrote."""
    (folder / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")


def _diffusers_model(cls: Any, config: dict[str, Any], device: str) -> Any:
    import torch

    with torch.device(device):  # on a GPU, initialising there is minutes faster
        return cls.from_config(config)


def write_sd15_tokenizer(out: Path, *, configs: Path | None = None) -> Path:
    """The CLIP tokenizer with SD 1.5's published tokenizer configs (model_max_length 77, pad =
    `<|endoftext|>`): OpenAI's BPE vocabulary when it is in the repository, else the tiny one."""
    from services.common.fullsize.hubfiles import copy_hub_files

    out = Path(out)
    if CLIP_BPE_VOCAB.is_file():
        from services.common.fullsize.clip import write_real_clip_tokenizer

        write_real_clip_tokenizer(out, CLIP_BPE_VOCAB)
    else:  # the hub's files: vocab.json and merges.txt (no tokenizer.json)
        from services.common.tiny import _write_bpe, clip_bpe_tiny_tables

        _write_bpe(out, *clip_bpe_tiny_tables())
    copy_hub_files(Path(configs or REAL_CONFIGS) / SD_REPO / "tokenizer", out, TOKENIZER_FILES)
    return out


def build_sd15(
    out: Path,
    *,
    tiny: bool = False,
    seed: int = 0,
    device: str = "cpu",
    configs: Path | None = None,
) -> Path:
    """Write SD 1.5 with random weights in the hub layout under `out`; one part in memory at a time
    (the full-size UNet alone is 3.4 GB in float32)."""
    import torch
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    from services.common.fullsize.hubfiles import copy_hub_files

    out = Path(out)
    root = Path(configs or REAL_CONFIGS) / SD_REPO
    torch.manual_seed(seed)
    for part, cls in (("unet", UNet2DConditionModel), ("vae", AutoencoderKL)):
        config = sd15_config(part, tiny=tiny, configs=configs)
        model = _diffusers_model(cls, config, device)
        model.save_pretrained(str(out / part))
        _write_config(out / part, config)
        del model
    text = sd15_config("text_encoder", tiny=tiny, configs=configs)
    with torch.device(device):
        encoder = CLIPTextModel(CLIPTextConfig(**text))
    encoder.save_pretrained(str(out / "text_encoder"))
    _write_config(out / "text_encoder", text)
    del encoder
    write_sd15_tokenizer(out / "tokenizer", configs=configs)
    copy_hub_files(root / "scheduler", out / "scheduler", ("scheduler_config.json",))
    copy_hub_files(root, out, ("model_index.json",))
    return out


def build_controlnet_canny(
    out: Path,
    *,
    tiny: bool = False,
    seed: int = 0,
    device: str = "cpu",
    configs: Path | None = None,
) -> Path:
    """Write control_v11p_sd15_canny with random weights in the hub layout under `out`.

    A new ControlNet's "zero convolutions" start at zero, so it would change nothing; a trained
    one's are not, so they get small random weights (as the tiny ControlNet's do)."""
    import torch
    from diffusers import ControlNetModel

    from services.common.tiny import wake_zero_convolutions

    out = Path(out)
    config = controlnet_config(tiny=tiny, configs=configs)
    torch.manual_seed(seed)
    controlnet = _diffusers_model(ControlNetModel, config, device)
    wake_zero_convolutions(controlnet)
    controlnet.save_pretrained(str(out))
    _write_config(out, config)
    return out
