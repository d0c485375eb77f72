"""Where the committed real configurations live, and copying them into a model directory as-is."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[3]
# The published JSON files of the hub repositories (see tests/fixtures/real_configs/README.md).
REAL_CONFIGS = REPO_ROOT / "tests" / "fixtures" / "real_configs"
# OpenAI's CLIP BPE merges, as shipped inside the open_clip_torch wheel (MIT).
CLIP_BPE_VOCAB = REPO_ROOT / "tests" / "fixtures" / "clip_vocab" / "bpe_simple_vocab_16e6.txt.gz"


def real_config_dir(name: str, configs: Path | None = None) -> Path:
    folder = Path(configs or REAL_CONFIGS) / name
    if not (folder / "config.json").is_file():
        raise FileNotFoundError(f"no real configuration at {folder} (config.json missing)")
    return folder


def read_json(path: Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def copy_hub_files(source: Path, out: Path, names: tuple[str, ...]) -> None:
    """Overwrite `out/<name>` with the published file, so the directory reads as the hub's does."""
    out.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copyfile(source / name, out / name)
