"""Model sources (hub id or local directory), device and dtype choice, and version strings.

torch is imported inside the functions, so importing this module stays cheap.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any


def resolve_source(source: str) -> str:
    """A local directory (made absolute) when one exists at `source`, else the hub id as given."""
    path = Path(source).expanduser()
    return str(path.resolve()) if path.is_dir() else source


_HASHED_FILE_LIMIT = 64 * 1024 * 1024


def source_version(source: str, revision: str | None = None) -> str:
    """A short, stable version of a model source, the same wherever the files are copied.

    A hub id is its own version, with the `revision` it is pinned to (`id@revision`): an unpinned
    repository that moves on changes no cache key, so deployments pin one (`*_REVISION` settings).
    A local directory has no revision (`from_pretrained` ignores it there); it is versioned by its
    files: small ones (configs, tokenizers, LoRA adapters) by content, large weight files by name and
    size, so a retrained adapter changes every cache key that depends on it without hashing
    gigabytes at startup.
    """
    path = Path(source).expanduser()
    if not path.is_dir():
        return f"{source}@{revision}" if revision else source
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        size = file.stat().st_size
        digest.update(f"{file.relative_to(path)}:{size};".encode())
        if size <= _HASHED_FILE_LIMIT:
            digest.update(file.read_bytes())
    return f"{path.name}@{digest.hexdigest()[:12]}"


def configure_torch(threads: int | None, cuda_memory_fraction: float | None = None) -> None:
    """CPU threads, and the share of the GPU's memory this process's allocator may take: several
    model services on one GPU each get a budget, so one that grows fails alone (out of memory, a
    503) instead of starving the others (docker-compose.one-gpu.yml, k8s/overlays/one-gpu)."""
    import torch

    if threads:
        torch.set_num_threads(threads)
    if cuda_memory_fraction and torch.cuda.is_available():
        torch.cuda.set_per_process_memory_fraction(cuda_memory_fraction)


def native_bf16() -> bool:
    """Whether this CUDA GPU has bfloat16 in hardware (Ampere and newer). `is_bf16_supported()`
    alone answers True on a T4 or V100 too, which only emulate it, slowly."""
    import torch

    return torch.cuda.is_bf16_supported(including_emulation=False)


def resolve_device(preference: str = "auto") -> str:
    import torch

    if preference == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device=cuda was asked for, but torch sees no CUDA device")
    if preference == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return preference


def resolve_dtype(device: str, preference: str = "auto") -> Any:
    import torch

    if preference == "auto":
        return torch.float16 if device == "cuda" else torch.float32
    return getattr(torch, preference)
