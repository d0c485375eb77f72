"""CLIP ViT-B/32 from `openai/clip-vit-base-patch32`'s published files, with the real BPE vocabulary.

The tokenizer is OpenAI's: `bpe_simple_vocab_16e6.txt.gz` turned into `vocab.json` / `merges.txt` the
way `simple_tokenizer.py` defines the vocabulary (256 byte symbols, the same with `</w>`, one token per
merge, then `<|startoftext|>` 49406 and `<|endoftext|>` 49407). The model is `CLIPModel` at the real
size (about 151 M parameters) or at a tiny width that keeps the real image size (224), patch size
(32), vocabulary (49408), 77 positions, the 512-d projection and the config's token ids; weights are
random. The directory has the hub's layout, including the old-format `preprocessor_config.json`
(`"size": 224`).
"""

from __future__ import annotations

import gzip
from pathlib import Path

from services.common.fullsize.hubfiles import (
    CLIP_BPE_VOCAB,
    copy_hub_files,
    read_json,
    real_config_dir,
)
from services.common.tiny import _byte_symbols, _write_bpe

CLIP_REPO = "clip-vit-base-patch32"
# simple_tokenizer.py: merges[1 : 49152 - 256 - 2 + 1], so the vocabulary is 49408 tokens.
N_MERGES = 49152 - 256 - 2
START, END = "<|startoftext|>", "<|endoftext|>"
# Tiny width: every size that is not part of the interface shrinks.
TINY_TEXT = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4)
TINY_VISION = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4)
# The projection is part of the interface: the index dimension and the multilingual tower's output.
TINY_PROJECTION = 512


def _symbols_in_openai_order() -> list[str]:
    """`bytes_to_unicode().values()`: the printable bytes first, then the rest, as CLIP counts them."""
    by_byte = _byte_symbols()
    printable = [b for b in range(256) if ord(by_byte[b]) == b]
    rest = [b for b in range(256) if ord(by_byte[b]) != b]
    return [by_byte[b] for b in printable + rest]


def clip_bpe_tables(
    bpe_gz: Path = CLIP_BPE_VOCAB,
) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """(vocab, merges) of OpenAI's CLIP tokenizer from its gzipped merges file."""
    lines = gzip.decompress(Path(bpe_gz).read_bytes()).decode("utf-8").split("\n")
    merges = [tuple(line.split()) for line in lines[1 : N_MERGES + 1]]
    symbols = _symbols_in_openai_order()
    tokens = symbols + [s + "</w>" for s in symbols] + ["".join(m) for m in merges] + [START, END]
    return {token: i for i, token in enumerate(tokens)}, [(a, b) for a, b in merges]


def write_real_clip_tokenizer(out: Path, bpe_gz: Path = CLIP_BPE_VOCAB) -> Path:
    """vocab.json, merges.txt and the published tokenizer configs: `CLIPTokenizer.from_pretrained`
    reads it as it reads the hub repository."""
    vocab, merges = clip_bpe_tables(bpe_gz)
    _write_bpe(out, vocab, merges)
    copy_hub_files(
        real_config_dir(CLIP_REPO), out, ("tokenizer_config.json", "special_tokens_map.json")
    )
    return out


def clip_config(*, tiny: bool, configs: Path | None = None):
    from transformers import CLIPConfig

    published = read_json(real_config_dir(CLIP_REPO, configs) / "config.json")
    if tiny:
        published["text_config"].update(TINY_TEXT, projection_dim=TINY_PROJECTION)
        published["vision_config"].update(TINY_VISION, projection_dim=TINY_PROJECTION)
        published["projection_dim"] = TINY_PROJECTION
    return CLIPConfig(**{k: v for k, v in published.items() if not k.startswith("_")})


def build_clip(
    out: Path,
    *,
    tiny: bool = False,
    seed: int = 0,
    bpe_gz: Path = CLIP_BPE_VOCAB,
    configs: Path | None = None,
) -> Path:
    """Write a random-weight CLIP ViT-B/32 in the hub layout under `out`."""
    import torch
    from transformers import CLIPModel

    out = Path(out)
    write_real_clip_tokenizer(out, bpe_gz)
    torch.manual_seed(seed)
    model = CLIPModel(clip_config(tiny=tiny, configs=configs))
    model.save_pretrained(str(out))
    if not tiny:  # the published config as it is; a tiny one keeps the config it was built from
        copy_hub_files(real_config_dir(CLIP_REPO, configs), out, ("config.json",))
    copy_hub_files(real_config_dir(CLIP_REPO, configs), out, ("preprocessor_config.json",))
    return out
