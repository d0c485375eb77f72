"""BLIP-2 OPT-2.7b from `Salesforce/blip2-opt-2.7b`'s published files, random weights, offline.

At full size (about 3.9 B parameters) the model is the published config as it is. At the tiny width
every hidden size and layer count shrinks, but everything that is part of the interface stays the real
one: the token ids (bos `</s>` 2, pad 1, eos of the language model 50118 = the newline, `<image>`
50265), the language model's vocabulary (50304) and 2048 positions, the Q-Former's vocabulary (30522),
224 px images in 14 px patches and 32 query tokens. Those are what tiny models that share one id for
`</s>` and eos hide (docs/FINETUNING.md, "stop token").

The tokenizer is a byte-level BPE in OPT's format with the real special-token ids and size (50265
tokens plus `<image>`): `<s> <pad> </s> <unk>` are 0-3, the newline `Ċ` is 50118, and the rest are byte
symbols, merges for the project's words and filler tokens (` w123`) (OPT's own merges are not redistributed
in any package we can install; ids other than the special ones differ from the real tokenizer).
"""

from __future__ import annotations

import json
from pathlib import Path

from services.common.fullsize.hubfiles import copy_hub_files, read_json, real_config_dir
from services.common.tiny import VOCABULARY_WORDS, _bpe_tables, _byte_symbols, _write_bpe

BLIP2_REPO = "blip2-opt-2.7b"
OPT_VOCAB = 50265  # the tokenizer's base vocabulary; `<image>` is added as 50265
NEWLINE_ID = 50118  # "Ċ": text_config.eos_token_id, what generation stops on
_TOKENIZER_FILES = ("tokenizer_config.json", "special_tokens_map.json", "added_tokens.json")
_PROCESSOR_FILES = ("preprocessor_config.json", "processor_config.json")
TINY = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4)


def _opt_vocabulary() -> tuple[dict[str, int], list[tuple[str, str]]]:
    symbols = list(_byte_symbols())
    space, newline = symbols[ord(" ")], symbols[ord("\n")]  # "Ġ", "Ċ"
    words = [list(w) for w in VOCABULARY_WORDS if len(w) > 1]
    words += [[space, *w] for w in VOCABULARY_WORDS]
    built, merges = _bpe_tables(words, ["<s>", "<pad>", "</s>", "<unk>", *symbols])
    tokens = [t for t in sorted(built, key=built.get) if t != newline]
    # Fillers decode as words (" w123"), as a random real model's tokens would.
    tokens += [f"{space}w{i}" for i in range(OPT_VOCAB - 1 - len(tokens))]
    tokens.insert(NEWLINE_ID, newline)
    return {token: i for i, token in enumerate(tokens)}, merges


def write_opt_tokenizer(out: Path, configs: Path | None = None) -> Path:
    vocab, merges = _opt_vocabulary()
    _write_bpe(out, vocab, merges)
    copy_hub_files(real_config_dir(BLIP2_REPO, configs), out, _TOKENIZER_FILES)
    return out


def blip2_config(*, tiny: bool, configs: Path | None = None):
    from transformers import Blip2Config

    published = read_json(real_config_dir(BLIP2_REPO, configs) / "config.json")
    if tiny:
        published["vision_config"].update(TINY)
        published["qformer_config"].update(TINY, encoder_hidden_size=TINY["hidden_size"])
        published["text_config"].update(
            hidden_size=32, word_embed_proj_dim=32, ffn_dim=64, num_hidden_layers=2,
            num_attention_heads=4,
        )  # fmt: skip
    return Blip2Config(**published)


def build_blip2(
    out: Path, *, tiny: bool = True, seed: int = 0, configs: Path | None = None
) -> Path:
    """Write a random-weight BLIP-2 OPT-2.7b in the hub layout under `out`."""
    import torch
    from transformers import Blip2ForConditionalGeneration

    out = Path(out)
    source = real_config_dir(BLIP2_REPO, configs)
    write_opt_tokenizer(out, configs)
    torch.manual_seed(seed)
    model = Blip2ForConditionalGeneration(blip2_config(tiny=tiny, configs=configs))
    model.save_pretrained(str(out))
    # The published generation config (eos 50118), processor and image processor, as they are.
    copy_hub_files(source, out, ("generation_config.json", *_PROCESSOR_FILES))
    if not tiny:
        copy_hub_files(source, out, ("config.json",))
    return out


def describe(out: Path) -> dict:
    """The interface values of a built directory (what the tests compare with the published ones)."""
    config = read_json(Path(out) / "config.json")
    return {
        "image_token_index": config["image_token_index"],
        "num_query_tokens": config["num_query_tokens"],
        "text_eos": config["text_config"].get("eos_token_id"),
        "generation": json.loads((Path(out) / "generation_config.json").read_text()),
    }
