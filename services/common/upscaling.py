"""Upscaling that keeps the seam: a tile is resized with its neighbours in the repeat around it.

A plain resize treats the tile's edges as the end of the world (Pillow clamps its filter there), so
the edge pixels are extrapolated from one side and the seam the tile had opens again. Here the tile
is padded with its repeat neighbours (`wrap_pad`), and Lanczos resamples exactly the tile's own box
out of the padded image: the filter near an edge reads the pixels that sit beyond it on cloth, and
the output covers precisely the tile, so its period is exact at any target size (not only integer
factors). Pure NumPy + Pillow (no torch): the export path and the generation service share it.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

from services.common.repeats import Repeat, wrap_pad

# Lanczos (a = 3) reads 3 source pixels on either side when enlarging, 3 x the reduction when
# shrinking; one more for Pillow's rounding of the support window.
_LANCZOS_SUPPORT = 3.0


def check_target(shape: tuple[int, ...], repeat: Repeat | str, width: int, height: int) -> None:
    """Refuse a target size the repeat cannot keep: the half offset must land on a whole pixel in
    the source and in the result alike (a 512 px half-drop tile scales to an even height)."""
    repeat = Repeat(repeat)
    if width < 1 or height < 1:
        raise ValueError(f"target size must be at least 1 x 1 px, got {width} x {height}")
    tile_h, tile_w = shape[:2]
    if repeat == Repeat.HALF_DROP and (tile_h // 2) * height != (height // 2) * tile_h:
        raise ValueError(
            f"a half-drop tile {tile_h} px high cannot be scaled to {height} px: the half drop "
            f"({tile_h / 2:g} px) would fall between pixels; use an even height"
        )
    if repeat == Repeat.HALF_BRICK and (tile_w // 2) * width != (width // 2) * tile_w:
        raise ValueError(
            f"a half-brick tile {tile_w} px wide cannot be scaled to {width} px: the half offset "
            f"({tile_w / 2:g} px) would fall between pixels; use an even width"
        )


def context_pad(shape: tuple[int, ...], width: int, height: int) -> int:
    """How many pixels of neighbours the filter reads past the tile's edge at this scale."""
    tile_h, tile_w = shape[:2]
    reduction = max(1.0, tile_w / width, tile_h / height)
    return math.ceil(_LANCZOS_SUPPORT * reduction) + 1


def lanczos_upscale(tile: np.ndarray, repeat: Repeat | str, width: int, height: int) -> np.ndarray:
    """`tile` (H x W or H x W x C, uint8) resized to `height` x `width` with Lanczos, reading its
    repeat neighbours across the edges; `none` resizes the tile alone. uint8 out.

    The resampled box is the tile itself inside the padded image (float coordinates, so the crop is
    exact): the result's pixel (0, 0) starts at the tile's corner and its last pixel ends at the
    tile's far edge, whatever the ratio.
    """
    repeat = Repeat(repeat)
    if tile.dtype != np.uint8 or tile.ndim not in (2, 3):
        raise ValueError(f"expected an H x W (x C) uint8 tile, got {tile.dtype} {tile.shape}")
    check_target(tile.shape, repeat, width, height)
    tile_h, tile_w = tile.shape[:2]
    if repeat == Repeat.NONE:
        return np.asarray(Image.fromarray(tile).resize((width, height), Image.Resampling.LANCZOS))
    pad = context_pad(tile.shape, width, height)
    padded = Image.fromarray(np.ascontiguousarray(wrap_pad(tile, repeat, pad)))
    box = (pad, pad, pad + tile_w, pad + tile_h)
    return np.asarray(padded.resize((width, height), Image.Resampling.LANCZOS, box=box))
