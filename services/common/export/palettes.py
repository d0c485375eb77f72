"""Named palettes of traditional batik colours (`palettes.json` beside this file, each with the source
that describes it). Colours are kept darkest first, the order a colourway maps clusters onto them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

PALETTES_FILE = Path(__file__).with_name("palettes.json")


@dataclass(frozen=True)
class Palette:
    name: str
    title: str
    colors: tuple[str, ...]  # "#rrggbb", darkest first
    source: str

    def rgb(self) -> np.ndarray:
        """The colours as a k x 3 uint8 array, darkest first."""
        return np.array([_hex_rgb(c) for c in self.colors], dtype=np.uint8)


def _hex_rgb(color: str) -> tuple[int, int, int]:
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


def luminance(rgb: np.ndarray) -> np.ndarray:
    """Rec. 601 luma of ... x 3 colours (the order of light and dark a viewer sees)."""
    return rgb[..., :3].astype(np.float64) @ np.array([0.299, 0.587, 0.114])


@cache
def palettes() -> dict[str, Palette]:
    data = json.loads(PALETTES_FILE.read_text(encoding="utf-8"))["palettes"]
    named = {}
    for name, entry in data.items():
        colors = tuple(entry["colors"])
        order = np.argsort(luminance(np.array([_hex_rgb(c) for c in colors])), kind="stable")
        named[name] = Palette(
            name, entry["title"], tuple(colors[i] for i in order), entry["source"]
        )
    return named


def palette_names() -> tuple[str, ...]:
    return tuple(palettes())


def palette(name: str) -> Palette:
    """The palette called `name`, or a ValueError that lists the known ones."""
    try:
        return palettes()[name]
    except KeyError:
        known = ", ".join(palette_names())
        raise ValueError(f"unknown palette {name!r}; use one of {known}") from None
