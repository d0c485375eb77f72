"""Which LoRA adapters exist: the subdirectories of the adapters root, plus the configured default.

Files only, no torch: the root is scanned on every listing, so an adapter written by `batik finetune`
into the root is selectable without a restart.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.common.contracts.captioning import BASE_ADAPTER
from services.common.errors import NotFoundError, quoted
from services.common.models import resolve_source, source_version

ADAPTER_CONFIG = "adapter_config.json"
TRAINING_REPORT = "training.json"


@dataclass(frozen=True)
class AdapterEntry:
    name: str
    source: str
    revision: str | None = None  # of a hub adapter (the configured default only)

    @property
    def is_local(self) -> bool:
        return Path(self.source).is_dir()


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


class AdapterRegistry:
    def __init__(
        self, root: str | None, default: str | None, default_revision: str | None = None
    ) -> None:
        self.root = Path(root).expanduser().resolve() if root else None
        self.default = self._default_entry(default, default_revision) if default else None

    def _default_entry(self, default: str, revision: str | None) -> AdapterEntry:
        if self.root is not None and (self.root / default / ADAPTER_CONFIG).is_file():
            return AdapterEntry(default, str(self.root / default))
        source = resolve_source(default)
        name = Path(source).name if Path(source).is_dir() else default.replace("/", "--")
        return AdapterEntry(name, source, revision)

    def _scan_root(self) -> list[AdapterEntry]:
        if self.root is None or not self.root.is_dir():
            return []
        return [
            AdapterEntry(child.name, str(child))
            for child in sorted(self.root.iterdir())
            if (child / ADAPTER_CONFIG).is_file() and child.name != BASE_ADAPTER
        ]

    def entries(self) -> list[AdapterEntry]:
        found = {entry.name: entry for entry in self._scan_root()}
        if self.default is not None:
            found[self.default.name] = self.default
        return sorted(found.values(), key=lambda e: e.name)

    def resolve(self, name: str | None) -> AdapterEntry | None:
        """The adapter a request names (None: the default); None means the base model."""
        if name is None:
            return self.default
        if name == BASE_ADAPTER:
            return None
        for entry in self.entries():
            if entry.name == name:
                return entry
        known = ", ".join(e.name for e in self.entries()) or "none are installed"
        raise NotFoundError(f"unknown adapter {quoted(name)}; known: {known} (or 'none')")

    def describe(self, entry: AdapterEntry) -> dict[str, Any]:
        """What GET /v1/adapters says about one adapter, read from its files."""
        path = Path(entry.source)
        config = _read_json(path / ADAPTER_CONFIG) if entry.is_local else None
        report = _read_json(path / TRAINING_REPORT) if entry.is_local else None
        targets = (config or {}).get("target_modules")
        return {
            "name": entry.name,
            "default": self.default is not None and entry.name == self.default.name,
            "source": entry.source,
            "version": source_version(entry.source, entry.revision),
            "base_model": (config or {}).get("base_model_name_or_path"),
            "r": (config or {}).get("r"),
            "target_modules": sorted(targets) if isinstance(targets, list) else None,
            "training": (
                {k: report[k] for k in ("base_model", "metrics", "epochs") if k in report}
                if report
                else None
            ),
        }
