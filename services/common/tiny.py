"""Tiny random models of the production classes, built offline in well under a second.

`batik models tiny --out DIR` writes DIR/clip, DIR/blip2 and DIR/sd. Tests, CI and the offline demo load
them through the same `from_pretrained` code as the real checkpoints, so every code path between the HTTP
handler and the model is exercised without a download. The weights are random: outputs are meaningless,
but shapes, dtypes, tokenisation, seeding and the pipelines' control flow are the real ones.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

# Words the tiny tokenizers know as whole tokens; everything else falls back to byte symbols.
VOCABULARY_WORDS = [
    "a",
    "an",
    "and",
    "of",
    "the",
    "in",
    "on",
    "with",
    "for",
    "to",
    "is",
    "are",
    "that",
    "this",
    "as",
    "by",
    "from",
    "at",
    "or",
    "its",
    "it",
    "which",
    "batik",
    "nitik",
    "motif",
    "pattern",
    "patterns",
    "dotted",
    "dots",
    "geometric",
    "flower",
    "flowers",
    "floral",
    "petal",
    "petals",
    "sekar",
    "kawung",
    "ceplok",
    "truntum",
    "jagad",
    "ornament",
    "symbol",
    "meaning",
    "symmetric",
    "square",
    "squares",
    "diamond",
    "circle",
    "circles",
    "grid",
    "tile",
    "tiles",
    "brown",
    "white",
    "black",
    "blue",
    "cream",
    "indigo",
    "sogan",
    "traditional",
    "yogyakarta",
    "javanese",
    "cloth",
    "design",
    "designs",
    "motifs",
    "leaves",
    "leaf",
    "star",
    "stars",
    "cross",
    "lines",
    "line",
    "bunga",
    "warna",
    "coklat",
    "putih",
    "hitam",
    "biru",
    "dan",
    "yang",
    "dengan",
    "pola",
    "titik",
]


@lru_cache(maxsize=1)
def _byte_symbols() -> tuple[str, ...]:
    """GPT-2's reversible byte-to-unicode table: 256 printable symbols, in byte order."""
    printable = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    codes = printable[:]
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            codes.append(256 + extra)
            extra += 1
    table = dict(zip(printable, codes, strict=True))
    return tuple(chr(table[b]) for b in range(256))


def _word_merges(symbols: list[str]) -> list[tuple[str, str]]:
    """Left-to-right merges that assemble `symbols` into one token."""
    merges = []
    current = symbols[0]
    for symbol in symbols[1:]:
        merges.append((current, symbol))
        current += symbol
    return merges


def _bpe_tables(
    words: list[list[str]], base_vocab: list[str]
) -> tuple[dict[str, int], list[tuple[str, str]]]:
    vocab: dict[str, int] = {}
    for token in base_vocab:
        vocab.setdefault(token, len(vocab))
    merges: list[tuple[str, str]] = []
    for symbols in words:
        for left, right in _word_merges(symbols):
            if (left, right) not in merges:
                merges.append((left, right))
                vocab.setdefault(left + right, len(vocab))
    return vocab, merges


def _bpe_files(vocab: dict[str, int], merges: list[tuple[str, str]]) -> dict[str, str]:
    lines = ["#version: 0.2"] + [f"{a} {b}" for a, b in merges]
    return {
        "vocab.json": json.dumps(vocab, ensure_ascii=False),
        "merges.txt": "\n".join(lines) + "\n",
    }


def _write_files(folder: Path, files: dict[str, str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")


def _write_bpe(out: Path, vocab: dict[str, int], merges: list[tuple[str, str]]) -> None:
    """vocab.json and merges.txt as they are (services/common/fullsize writes its own this way)."""
    _write_files(out, _bpe_files(vocab, merges))


def _save_tokenizer(out: Path, files: dict[str, str], load: Callable[[str], Any]) -> None:
    """Write a tokenizer's raw `files` to a scratch folder, load them with `load(folder)`, and save
    the tokenizer into `out` in the layout `from_pretrained` reads back (the only safe way to build
    one from vocab files: see the notes on `CLIPTokenizer(vocab_file=...)`)."""
    with tempfile.TemporaryDirectory(prefix="tiny-tokenizer-") as scratch:
        _write_files(Path(scratch), files)
        load(scratch).save_pretrained(str(out))


def clip_bpe_tiny_tables() -> tuple[dict[str, int], list[tuple[str, str]]]:
    """CLIP's BPE format: byte symbols, the same with `</w>`, merges, then the two special tokens."""
    symbols = list(_byte_symbols())
    base = symbols + [s + "</w>" for s in symbols]
    words = [[*list(w[:-1]), w[-1] + "</w>"] for w in VOCABULARY_WORDS if len(w) > 1]
    vocab, merges = _bpe_tables(words, base)
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    return vocab, merges


def write_clip_tokenizer(out: Path) -> None:
    """The tiny CLIP tokenizer (`clip_bpe_tiny_tables`), saved by `CLIPTokenizer`."""
    from transformers import CLIPTokenizer

    _save_tokenizer(
        out,
        _bpe_files(*clip_bpe_tiny_tables()),
        lambda folder: CLIPTokenizer.from_pretrained(
            folder, model_max_length=77, pad_token="<|endoftext|>"
        ),
    )


def write_opt_tokenizer(out: Path) -> None:
    """OPT's GPT-2 BPE format: four special tokens first, byte symbols, merges with `Ġ` variants."""
    from transformers import GPT2Tokenizer

    symbols = list(_byte_symbols())
    space = symbols[ord(" ")]  # "Ġ"
    base = ["<s>", "<pad>", "</s>", "<unk>", *symbols]
    words = [list(w) for w in VOCABULARY_WORDS if len(w) > 1]
    words += [[space, *w] for w in VOCABULARY_WORDS]
    _save_tokenizer(
        out,
        _bpe_files(*_bpe_tables(words, base)),
        lambda folder: GPT2Tokenizer.from_pretrained(
            folder,
            bos_token="</s>",
            eos_token="</s>",
            pad_token="<pad>",
            unk_token="<unk>",
            add_bos_token=True,
        ),
    )


def _tiny_clip_text(tokenizer: Any) -> dict[str, int]:
    """The tiny CLIP text tower, shared by the CLIP model and SD's text encoder."""
    return dict(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        max_position_embeddings=77,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )


def _seed(seed: int) -> None:
    import torch

    torch.manual_seed(seed)


def build_tiny_clip(out: Path, seed: int = 0) -> Path:
    from transformers import (
        CLIPConfig,
        CLIPImageProcessorPil,
        CLIPModel,
        CLIPProcessor,
        CLIPTokenizer,
    )

    write_clip_tokenizer(out)
    tokenizer = CLIPTokenizer.from_pretrained(str(out))
    config = CLIPConfig(
        text_config=_tiny_clip_text(tokenizer),
        vision_config=dict(
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=2,
            num_attention_heads=4,
            image_size=64,
            patch_size=32,
        ),
        projection_dim=16,
    )
    _seed(seed)
    CLIPModel(config).save_pretrained(str(out))
    processor = CLIPProcessor(
        image_processor=CLIPImageProcessorPil(
            size={"shortest_edge": 64}, crop_size={"height": 64, "width": 64}
        ),
        tokenizer=tokenizer,
    )
    processor.save_pretrained(str(out))
    return out


def build_tiny_blip2(out: Path, seed: int = 0) -> Path:
    from transformers import (
        Blip2Config,
        Blip2ForConditionalGeneration,
        Blip2Processor,
        BlipImageProcessorPil,
        GPT2Tokenizer,
    )

    write_opt_tokenizer(out)
    tokenizer = GPT2Tokenizer.from_pretrained(str(out))
    # The processor adds the `<image>` token, so it is built before the config reads its id.
    processor = Blip2Processor(
        image_processor=BlipImageProcessorPil(size={"height": 64, "width": 64}),
        tokenizer=tokenizer,
        num_query_tokens=4,
    )
    tokenizer = processor.tokenizer
    image_token_id = tokenizer.convert_tokens_to_ids("<image>")
    config = Blip2Config(
        vision_config=dict(
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=2,
            num_attention_heads=4,
            image_size=64,
            patch_size=16,
        ),
        qformer_config=dict(
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=2,
            num_attention_heads=4,
            vocab_size=100,
            max_position_embeddings=64,
            cross_attention_frequency=1,
        ),
        text_config=dict(
            model_type="opt",
            vocab_size=len(tokenizer),
            hidden_size=32,
            word_embed_proj_dim=32,
            ffn_dim=64,
            num_hidden_layers=2,
            num_attention_heads=4,
            max_position_embeddings=128,
            bos_token_id=2,
            eos_token_id=2,
            pad_token_id=1,
        ),
        num_query_tokens=4,
        image_token_index=image_token_id,
    )
    _seed(seed)
    Blip2ForConditionalGeneration(config).save_pretrained(str(out))
    processor.save_pretrained(str(out))
    return out


def _tiny_sd_parts(out: Path, seed: int, vae_levels: int, **vae_shape: Any) -> dict[str, Any]:
    """The tokenizer, CLIP text encoder and VAE both tiny diffusion pipelines share, the random ones
    made from `seed` in this order (so the UNet made next is seeded as before): a VAE of
    `vae_levels` levels (SD's 4, a latent 8x smaller; the x4 upscaler's 3)."""
    from diffusers import AutoencoderKL
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    write_clip_tokenizer(out / "tokenizer")
    tokenizer = CLIPTokenizer.from_pretrained(str(out / "tokenizer"))
    _seed(seed)
    text_encoder = CLIPTextModel(CLIPTextConfig(**_tiny_clip_text(tokenizer)))
    vae = AutoencoderKL(
        block_out_channels=(8, 8, 16, 16)[:vae_levels],
        layers_per_block=1,
        norm_num_groups=4,
        latent_channels=4,
        down_block_types=("DownEncoderBlock2D",) * vae_levels,
        up_block_types=("UpDecoderBlock2D",) * vae_levels,
        **vae_shape,
    )
    return {"tokenizer": tokenizer, "text_encoder": text_encoder, "vae": vae}


def _tiny_unet(down_block_types: tuple[str, str], **shape: Any) -> Any:
    """The tiny UNet of both pipelines: two levels (16 and 32 channels, one layer each), one of them
    with cross-attention (`down_block_types`; the up path mirrors it), and what differs (`shape`:
    sample size, channels, class embeddings)."""
    from diffusers import UNet2DConditionModel

    return UNet2DConditionModel(
        block_out_channels=(16, 32),
        layers_per_block=1,
        norm_num_groups=4,
        cross_attention_dim=32,
        attention_head_dim=4,
        down_block_types=down_block_types,
        up_block_types=tuple(b.replace("Down", "Up") for b in reversed(down_block_types)),
        **shape,
    )


def build_tiny_sd(out: Path, seed: int = 0) -> Path:
    from diffusers import DDIMScheduler, StableDiffusionImg2ImgPipeline

    parts = _tiny_sd_parts(out, seed, vae_levels=4)
    unet = _tiny_unet(("CrossAttnDownBlock2D", "DownBlock2D"), sample_size=8)
    scheduler = DDIMScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        clip_sample=False,
        set_alpha_to_one=False,
        steps_offset=1,
    )
    pipeline = StableDiffusionImg2ImgPipeline(
        **parts,
        unet=unet,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipeline.save_pretrained(str(out))
    return out


def build_tiny_upscaler(out: Path, seed: int = 0) -> Path:
    """A StableDiffusionUpscalePipeline of the x4 upscaler's shape (stabilityai/stable-diffusion-x4-
    upscaler): a UNet on 7 channels (4 latent + the 3 of the low-resolution image) with the noise
    level as its class label (1000 classes), a 3-block VAE (latents at the input's size, decoded 4x
    larger; scaling factor 0.08333), a DDPM scheduler that noises the input and a v-prediction DDIM
    that denoises, max noise level 350."""
    from diffusers import DDIMScheduler, DDPMScheduler, StableDiffusionUpscalePipeline

    parts = _tiny_sd_parts(out, seed, vae_levels=3, scaling_factor=0.08333)
    unet = _tiny_unet(
        ("DownBlock2D", "CrossAttnDownBlock2D"),
        sample_size=16,
        in_channels=7,
        out_channels=4,
        num_class_embeds=1000,
    )
    pipeline = StableDiffusionUpscalePipeline(
        **parts,
        unet=unet,
        low_res_scheduler=DDPMScheduler(beta_schedule="linear", num_train_timesteps=1000),
        scheduler=DDIMScheduler(
            beta_schedule="scaled_linear",
            beta_start=0.0001,
            beta_end=0.02,
            prediction_type="v_prediction",
            clip_sample=False,
            set_alpha_to_one=False,
            steps_offset=1,
        ),
        max_noise_level=350,
    )
    pipeline.save_pretrained(str(out))
    return out


def build_tiny_controlnet(sd_dir: Path, out: Path, seed: int = 0) -> Path:
    """A ControlNet for the tiny SD, made from its UNet as real ControlNets are initialised.

    `from_unet` starts the "zero convolutions" at zero, so the net would change nothing; a trained
    ControlNet's are not zero, so these get small random weights: the control image then acts, and
    `control_scale=0` is still exactly no ControlNet.
    """
    from diffusers import ControlNetModel, UNet2DConditionModel

    unet = UNet2DConditionModel.from_pretrained(str(sd_dir), subfolder="unet")
    _seed(seed)
    controlnet = ControlNetModel.from_unet(unet)
    wake_zero_convolutions(controlnet)
    controlnet.save_pretrained(str(out))
    return out


def wake_zero_convolutions(controlnet, std: float = 0.05) -> None:
    """Small random weights in a new ControlNet's zero-initialised convolutions, so it acts."""
    import torch

    zero_initialised = (
        "controlnet_down_blocks",
        "controlnet_mid_block",
        "controlnet_cond_embedding.conv_out",
    )
    with torch.no_grad():
        for name, parameter in controlnet.named_parameters():
            if name.startswith(zero_initialised):
                parameter.normal_(0.0, std)


def build_tiny_models(out: Path, seed: int = 0) -> dict[str, Path]:
    """Write every tiny model under `out`; returns their directories by role."""
    out = Path(out)
    models = {
        "clip": build_tiny_clip(out / "clip", seed),
        "blip2": build_tiny_blip2(out / "blip2", seed),
        "sd": build_tiny_sd(out / "sd", seed),
    }
    models["controlnet"] = build_tiny_controlnet(models["sd"], out / "controlnet", seed)
    models["upscaler"] = build_tiny_upscaler(out / "upscaler", seed)
    return models


def write_wordpiece_tokenizer(out: Path) -> None:
    """A BERT WordPiece tokenizer: special tokens, single characters and `##` pieces, the words."""
    from transformers import BertTokenizer

    characters = list("abcdefghijklmnopqrstuvwxyz0123456789")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *characters, *".,;:!?'\"-()"]
    vocab += [f"##{c}" for c in characters]
    vocab += [w for w in VOCABULARY_WORDS if w not in vocab]
    _save_tokenizer(
        out,
        {"vocab.txt": "\n".join(vocab) + "\n"},
        lambda folder: BertTokenizer.from_pretrained(
            folder, do_lower_case=True, strip_accents=True, model_max_length=128
        ),
    )


def build_tiny_multilingual(out: Path, dim: int = 16, seed: int = 0) -> Path:
    """A tiny random stand-in for `clip-ViT-B-32-multilingual-v1`, in the same layout.

    The real model is a sentence-transformers directory: a multilingual DistilBERT, mean pooling, and
    a bias-free linear layer to CLIP's projection dimension. This writes a 2-layer DistilBERT with a
    local WordPiece tokenizer, mean pooling and a `Dense(32 -> dim)`, so the retrieval service loads it
    through the same `SentenceTransformer(dir)` call. `dim` must match the CLIP it stands beside (the
    tiny CLIP's projection_dim is 16).
    """
    import shutil

    import torch
    from transformers import BertTokenizer, DistilBertConfig, DistilBertModel

    try:  # sentence-transformers 6 moved the module classes
        from sentence_transformers import SentenceTransformer
        from sentence_transformers.sentence_transformer.modules import Dense, Pooling, Transformer
    except ImportError:  # pragma: no cover - sentence-transformers < 6
        from sentence_transformers import SentenceTransformer
        from sentence_transformers.models import Dense, Pooling, Transformer

    out = Path(out)
    backbone = out / "_backbone"
    write_wordpiece_tokenizer(backbone)
    tokenizer = BertTokenizer.from_pretrained(str(backbone))
    _seed(seed)
    DistilBertModel(
        DistilBertConfig(
            vocab_size=len(tokenizer),
            dim=32,
            hidden_dim=64,
            n_layers=2,
            n_heads=4,
            max_position_embeddings=128,
            pad_token_id=tokenizer.pad_token_id,
        )
    ).save_pretrained(str(backbone))
    model = SentenceTransformer(
        modules=[
            Transformer(str(backbone), max_seq_length=128),
            Pooling(32, pooling_mode="mean"),
            Dense(32, dim, bias=False, activation_function=torch.nn.Identity()),
        ],
        device="cpu",
    )
    model.save(str(out))
    shutil.rmtree(backbone)
    return out


def build_tiny_lora(
    sd_dir: Path,
    out: Path,
    *,
    seed: int = 0,
    rank: int = 4,
    std: float = 0.3,
    style_name: str | None = None,
    text_encoder: bool = False,
) -> Path:
    """A random LoRA for the tiny SD in diffusers' format (what `load_lora_weights` reads), as
    `batik finetune-style` writes it, with B initialised non-zero so it changes the image. With
    `style_name` it is a style folder (manifest.json beside the weights); without, a plain LoRA
    like LCM-LoRA (the preview LoRA in tests)."""
    import json

    import torch
    from diffusers import StableDiffusionPipeline, UNet2DConditionModel
    from diffusers.utils import convert_state_dict_to_diffusers
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict
    from transformers import CLIPTextModel

    from services.common.models import source_version
    from services.generation.finetune_style.model import (
        add_text_encoder_lora,
        text_encoder_lora_state,
    )

    out = Path(out)
    _seed(seed)
    unet = UNet2DConditionModel.from_pretrained(str(sd_dir), subfolder="unet")
    unet.add_adapter(
        LoraConfig(r=rank, lora_alpha=rank, target_modules=["to_q", "to_k", "to_v", "to_out.0"])
    )
    layers: dict = {}
    modules = {"unet": unet}
    if text_encoder:
        encoder = CLIPTextModel.from_pretrained(str(sd_dir), subfolder="text_encoder")
        add_text_encoder_lora(
            encoder,
            LoraConfig(r=rank, lora_alpha=rank, target_modules=["q_proj", "k_proj", "v_proj"]),
        )
        modules["text_encoder"] = encoder
    with torch.no_grad():
        for module in modules.values():
            for name, parameter in module.named_parameters():
                if "lora_B" in name:
                    parameter.normal_(0.0, std)
    layers["unet_lora_layers"] = convert_state_dict_to_diffusers(get_peft_model_state_dict(unet))
    if text_encoder:
        layers["text_encoder_lora_layers"] = convert_state_dict_to_diffusers(
            text_encoder_lora_state(modules["text_encoder"])
        )
    weights = "pytorch_lora_weights.safetensors"
    StableDiffusionPipeline.save_lora_weights(str(out), weight_name=weights, **layers)
    if style_name:
        manifest = {
            "format": "batik-style/1",
            "name": style_name,
            "base_model": {"source": str(sd_dir), "version": source_version(str(sd_dir))},
            "rank": rank,
            "alpha": rank,
            "trigger_words": ["batik nitik motif"],
            "weights": weights,
            "training": None,
        }
        (out / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return out
