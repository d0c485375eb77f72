"""`sentence-transformers/clip-ViT-B-32-multilingual-v1` in its published layout, random weights.

The module files are the published ones as they are (`modules.json`, `sentence_bert_config.json`,
`config_sentence_transformers.json`, `1_Pooling/config.json`); the DistilBERT `config.json` keeps the
published vocabulary (119547) and positions at a tiny width, and `2_Dense` maps that width to the real
output, CLIP ViT-B/32's 512-d space, without bias. The tokenizer is the project's small WordPiece one
(the published vocabulary is not redistributed in any package we install).
"""

from __future__ import annotations

import json
from pathlib import Path

from services.common.fullsize.hubfiles import copy_hub_files, read_json, real_config_dir
from services.common.tiny import write_wordpiece_tokenizer

MULTILINGUAL_REPO = "clip-ViT-B-32-multilingual-v1"
_MODULE_FILES = (
    "modules.json",
    "sentence_bert_config.json",
    "config_sentence_transformers.json",
    "1_Pooling/config.json",
)
TINY_WIDTH = 32


def build_multilingual(out: Path, *, seed: int = 0, configs: Path | None = None) -> Path:
    import torch
    from safetensors.torch import save_file
    from transformers import DistilBertConfig, DistilBertModel

    out = Path(out)
    source = real_config_dir(MULTILINGUAL_REPO, configs)
    write_wordpiece_tokenizer(out)
    published = read_json(source / "config.json")
    published.update(dim=TINY_WIDTH, hidden_dim=2 * TINY_WIDTH, n_layers=2, n_heads=4)
    torch.manual_seed(seed)
    DistilBertModel(DistilBertConfig(**published)).save_pretrained(str(out))
    (out / "1_Pooling").mkdir(exist_ok=True)
    (out / "2_Dense").mkdir(exist_ok=True)
    copy_hub_files(source, out, _MODULE_FILES)
    pooling = read_json(out / "1_Pooling" / "config.json")
    pooling["word_embedding_dimension"] = TINY_WIDTH
    (out / "1_Pooling" / "config.json").write_text(json.dumps(pooling, indent=2) + "\n")
    dense = read_json(source / "2_Dense" / "config.json") | {"in_features": TINY_WIDTH}
    (out / "2_Dense" / "config.json").write_text(json.dumps(dense, indent=2) + "\n")
    weight = torch.randn(dense["out_features"], TINY_WIDTH) * TINY_WIDTH**-0.5
    save_file({"linear.weight": weight.contiguous()}, str(out / "2_Dense" / "model.safetensors"))
    return out
