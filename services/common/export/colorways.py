"""Colourways: a design in N colours, or in a named batik palette, with its structure kept.

The tile is clustered into N colours (Pillow's median cut, no dithering). Each pixel keeps its
cluster; a colourway only changes what colour each cluster is. For a palette the clusters are
ordered by luminance and mapped onto the palette's colours in the same order (darkest cluster to
darkest colour), so what was dark stays dark and every edge stays where it was. A colourway is
applied to any size of the same image (an upscaled tile) by nearest-cluster assignment in Pillow,
one byte per pixel: no float buffer of the page's size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from services.common.contracts.export import MAX_COLORS
from services.common.export.palettes import Palette, luminance


@dataclass(frozen=True)
class Colorway:
    clusters: np.ndarray  # k x 3 uint8: the cluster centres, in the image's colours
    colors: np.ndarray  # k x 3 uint8: what each cluster becomes
    name: str  # the palette's name, or "N colours"

    def hex_colors(self) -> list[str]:
        """The colours in use, darkest first, as #rrggbb."""
        unique = np.unique(self.colors, axis=0)
        ordered = unique[np.argsort(luminance(unique), kind="stable")]
        return ["#" + "".join(f"{c:02x}" for c in color) for color in ordered]

    def indexed(self, image: Image.Image) -> Image.Image:
        """`image` (RGB, any size) as a P image whose palette is this colourway's colours."""
        clusters = Image.new("P", (1, 1))
        clusters.putpalette(_padded(self.clusters).tobytes())
        indexed = image.convert("RGB").quantize(palette=clusters, dither=Image.Dither.NONE)
        indexed.putpalette(_padded(self.colors).tobytes())
        return indexed

    def apply(self, image: Image.Image) -> Image.Image:
        return self.indexed(image).convert("RGB")


def _padded(colors: np.ndarray) -> np.ndarray:
    """256 palette entries, the extra ones repeating the last colour (never nearer than it)."""
    pad = np.repeat(colors[-1:], 256 - len(colors), axis=0)
    return np.concatenate([colors, pad]).astype(np.uint8)


def clusters_of(image: Image.Image, count: int) -> np.ndarray:
    """The centres of at most `count` colour clusters of `image`, k x 3 uint8 (k may be fewer:
    an image with fewer colours keeps them)."""
    if not 2 <= count <= MAX_COLORS:
        raise ValueError(f"colors must be 2-{MAX_COLORS}, not {count}")
    quantized = image.convert("RGB").quantize(
        colors=count, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE
    )
    used = sorted(index for _, index in quantized.getcolors(MAX_COLORS + 1) or [])
    flat = np.array(quantized.getpalette()[: 3 * (max(used) + 1)], dtype=np.uint8).reshape(-1, 3)
    return flat[used]


def colorway(
    image: Image.Image, *, palette: Palette | None = None, colors: int | None = None
) -> Colorway:
    """The colourway of `image` with `colors` clusters (default: the palette's count), mapped onto
    `palette` by luminance order when one is given."""
    if palette is None and colors is None:
        raise ValueError("a colourway needs a palette, a number of colours, or both")
    count = colors if colors is not None else len(palette.colors)
    clusters = clusters_of(image, count)
    if palette is None:
        return Colorway(clusters, clusters.copy(), f"{len(clusters)} colours")
    targets = palette.rgb()
    order = np.argsort(luminance(clusters), kind="stable")  # darkest cluster first
    mapped = np.empty_like(clusters)
    span = max(len(clusters) - 1, 1)
    for rank, cluster in enumerate(order):
        mapped[cluster] = targets[round(rank * (len(targets) - 1) / span)]
    return Colorway(clusters, mapped, palette.name)


def side_by_side(images: list[Image.Image], gap: int = 8) -> Image.Image:
    """The images in one row on white, `gap` px apart, each at its own size."""
    width = sum(image.width for image in images) + gap * (len(images) - 1)
    height = max(image.height for image in images)
    sheet = Image.new("RGB", (width, height), (255, 255, 255))
    left = 0
    for image in images:
        sheet.paste(image.convert("RGB"), (left, 0))
        left += image.width + gap
    return sheet
