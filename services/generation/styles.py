"""Styles: LoRA folders from `batik finetune-style`, served by name.

Every style in GENERATION_STYLES_DIR is loaded once into the pipeline's UNet (and text encoder, when it
was trained) as a named peft adapter; a request picks its styles and scales with `set_adapters`, and
no style means the adapters are disabled. `GENERATION_STYLE` is fused into the weights at load instead
(no per-step cost). The preview LoRA (LCM-LoRA) is one more adapter, under the reserved name
`preview`.

A diffusers pipeline is not thread-safe and the adapters are state of the shared UNet, so activation
and the pipeline call happen under the engine's one lock (`SdGenerator.generate`); so does a reload.
A style made for another base model, or whose files do not load, is skipped with a logged reason and
the rest load.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.common.contracts.generation import (
    STYLE_NAME_PATTERN,
    AppliedStyle,
    StyleInfo,
    StyleParams,
)
from services.common.errors import InvalidInputError, NotFoundError, quoted
from services.common.models import resolve_source, source_version

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"  # as services/generation/finetune_style/output.py writes it
PREVIEW_ADAPTER = "preview"
_NAME = re.compile(STYLE_NAME_PATTERN)


class StyleNotFoundError(NotFoundError):
    pass


class StyleRefused(ValueError):
    """A style folder that cannot be served here; the message says why."""


@dataclass(frozen=True)
class Style:
    info: StyleInfo
    path: Path
    weights: str


def read_style(folder: Path, base_version: str) -> Style:
    """The style in `folder`, checked against the base model it would run on."""
    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        raise StyleRefused("no manifest.json (not a style from `batik finetune-style`)")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        name = manifest["name"]
        base = manifest["base_model"]
        weights = manifest.get("weights", "pytorch_lora_weights.safetensors")
        rank = int(manifest["rank"])
    except (ValueError, KeyError, TypeError) as exc:
        raise StyleRefused(f"unreadable manifest.json: {exc!r}") from exc
    if not isinstance(name, str) or not _NAME.match(name) or name == PREVIEW_ADAPTER:
        raise StyleRefused(f"style name {name!r} is not a valid or free adapter name")
    if base.get("version") != base_version:
        raise StyleRefused(
            f"trained on base model {base.get('source')!r} (version {base.get('version')!r}), "
            f"but this service runs {base_version!r}"
        )
    if not (folder / weights).is_file():
        raise StyleRefused(f"weights file {weights!r} is missing")
    info = StyleInfo(
        name=name,
        base_model=str(base.get("source")),
        base_version=str(base.get("version")),
        rank=rank,
        trigger_words=list(manifest.get("trigger_words") or []),
        version=source_version(str(folder)),
    )
    return Style(info=info, path=folder, weights=weights)


class Styles:
    """The styles loaded into one pipeline (and every view sharing its UNet and text encoder)."""

    def __init__(self, pipe: Any, base_version: str) -> None:
        self.pipe = pipe
        self.base_version = base_version
        self.folder: Path | None = None
        self.loaded: dict[str, Style] = {}
        self.default: Style | None = None
        self.preview_version: str | None = None
        self.skipped: dict[str, str] = {}

    # ---- loading ---------------------------------------------------------------------------

    def configure(
        self, folder: str | None, *, default: str | None = None, preview: str | None = None
    ) -> None:
        """At start: fuse the default style, load the preview LoRA, then every style in `folder`."""
        self.folder = Path(folder) if folder else None
        if default:
            self._fuse_default(default)
        if preview:
            self.pipe.load_lora_weights(resolve_source(preview), adapter_name=PREVIEW_ADAPTER)
            self.preview_version = source_version(preview)
        self.reload()

    def _fuse_default(self, name: str) -> None:
        if self.folder is None or not (self.folder / name).is_dir():
            raise ValueError(f"GENERATION_STYLE={name!r}: no such folder in GENERATION_STYLES_DIR")
        style = read_style(self.folder / name, self.base_version)  # refused: the start fails
        self.pipe.load_lora_weights(str(style.path), weight_name=style.weights, adapter_name=name)
        self.pipe.fuse_lora(adapter_names=[name], lora_scale=1.0)
        # The fused weights stay; the LoRA layers go (this runs before any other adapter exists).
        self.pipe.unload_lora_weights()
        self.default = Style(info=style.info.model_copy(update={"fused": True}), path=style.path,
                             weights=style.weights)  # fmt: skip
        log.info("style %s (%s) fused into the weights", name, style.info.version)

    def reload(self) -> dict[str, list]:
        """Load styles added to the folder (or changed), drop those removed; skip the unloadable."""
        found: dict[str, Style] = {}
        self.skipped = {}
        folders = sorted(p for p in self.folder.iterdir() if p.is_dir()) if self.folder else []
        for folder in folders:
            if self.default is not None and folder == self.default.path:
                continue
            try:
                style = read_style(folder, self.base_version)
            except StyleRefused as exc:
                self._skip(folder, str(exc))
                continue
            if style.info.name in found:
                self._skip(folder, f"a second style named {style.info.name!r}")
                continue
            found[style.info.name] = style
        added, removed = [], []
        for name, style in self.loaded.items():
            if name not in found or found[name].info.version != style.info.version:
                self._delete(name)
                removed.append(name)
        for name in removed:
            del self.loaded[name]
        for name, style in found.items():
            if name in self.loaded:
                continue
            try:
                self.pipe.load_lora_weights(
                    str(style.path), weight_name=style.weights, adapter_name=name
                )
            except Exception as exc:  # a corrupt or foreign file: this style only
                self._delete(name)
                self._skip(style.path, f"weights do not load: {type(exc).__name__}: {exc}")
                continue
            self.loaded[name] = style
            added.append(name)
        changed = sorted(set(added) & set(removed))
        log.info(
            "styles: %d loaded (added %s, removed %s, reloaded %s), %d skipped",
            len(self.loaded),
            sorted(set(added) - set(changed)),
            sorted(set(removed) - set(changed)),
            changed,
            len(self.skipped),
        )
        return {"added": sorted(added), "removed": sorted(removed)}

    def _skip(self, folder: Path, reason: str) -> None:
        log.warning("style folder %s skipped: %s", folder, reason)
        self.skipped[folder.name] = reason

    def _delete(self, name: str) -> None:
        try:
            self.pipe.delete_adapters(name)
        except Exception:  # nothing of it was loaded
            log.debug("no adapter %s to delete", name)

    # ---- requests --------------------------------------------------------------------------

    def resolve(self, request: StyleParams) -> list[tuple[Style, float]]:
        """The loaded styles a request names, with scales; unknown names are 404, previews without
        a preview LoRA 422. The fused default runs always: naming it adds nothing."""
        if request.preview and self.preview_version is None:
            raise InvalidInputError("preview: no preview LoRA is loaded (GENERATION_PREVIEW_LORA)")
        chosen = []
        for choice in request.style_choices():
            if self.default is not None and choice.name == self.default.info.name:
                if choice.scale != 1.0:
                    raise InvalidInputError(
                        f"style {choice.name!r} is fused into the weights at load: only scale 1"
                    )
                continue
            style = self.loaded.get(choice.name)
            if style is None:
                known = ", ".join(sorted(self.loaded)) or "none"
                raise StyleNotFoundError(f"no style {quoted(choice.name)}; loaded styles: {known}")
            chosen.append((style, choice.scale))
        return chosen

    def activate(self, request: StyleParams) -> list[AppliedStyle]:
        """Set the adapters for this request. Call under the engine's lock, right before the
        pipeline call."""
        chosen = self.resolve(request)
        names = [style.info.name for style, _ in chosen]
        weights = [scale for _, scale in chosen]
        if request.preview:
            names.append(PREVIEW_ADAPTER)
            weights.append(1.0)
        if self.loaded or self.preview_version:
            if names:
                self.pipe.enable_lora()
                self.pipe.set_adapters(names, adapter_weights=weights)
            else:
                self.pipe.disable_lora()
        return [
            AppliedStyle(name=style.info.name, scale=scale, version=style.info.version)
            for style, scale in chosen
        ]

    # ---- versions and listing --------------------------------------------------------------

    def _base_tag(self, base: str) -> str:
        if self.default is None:
            return base
        return f"{base}+style:{self.default.info.name}@{self.default.info.version}"

    def model_version(self, base: str) -> str:
        """The service's version: base, fused default, every loaded style and the preview LoRA (a
        reload that changes any of them changes the gateway's cache keys)."""
        tag = self._base_tag(base)
        if self.loaded:
            listing = ",".join(f"{n}@{s.info.version}" for n, s in sorted(self.loaded.items()))
            tag += f"+styles:{hashlib.sha256(listing.encode()).hexdigest()[:12]}"
        if self.preview_version:
            tag += f"+preview:{self.preview_version}"
        return tag

    def answer_version(self, base: str, applied: list[AppliedStyle], preview: bool) -> str:
        """One answer's version: what it ran with."""
        tag = self._base_tag(base)
        if applied:
            tag += "+" + ",".join(f"{s.name}@{s.version}:{s.scale:g}" for s in applied)
        if preview:
            tag += f"+preview:{self.preview_version}"
        return tag

    def listing(self) -> list[StyleInfo]:
        styles = [s.info for s in self.loaded.values()]
        if self.default is not None:
            styles.append(self.default.info)
        return sorted(styles, key=lambda info: info.name)
