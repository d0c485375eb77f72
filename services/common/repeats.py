"""Repeat types: how a tile is laid out to fill cloth, as print shops name them.

- `full` (Spoonflower's "basic"): the tile on a plain grid.
- `half_drop`: every other column moved down by half the tile's height.
- `half_brick`: every other row moved right by half the tile's width.
- `mirror`: every other column mirrored left-right, every other row top-bottom.
- `none`: one tile, no repeat.

One layout serves every use: an export's page, the neighbours an upscaler or a seam measure needs
around a tile (`wrap_pad`), and the seam measure itself. Coordinates are repeat coordinates: the
tile at row 0, column 0 has its top-left corner at (0, 0); a canvas may start anywhere, negative
included. Everything is uint8-in, same-dtype-out and built with `np.tile` on one period block, so a
600 dpi page costs its own bytes and no index or float buffers of its size.
"""

from __future__ import annotations

from enum import StrEnum

import numpy as np


class Repeat(StrEnum):
    NONE = "none"
    FULL = "full"
    HALF_DROP = "half_drop"
    HALF_BRICK = "half_brick"
    MIRROR = "mirror"


# The repeats a generated tile can be made seamless for (circular padding shifted by half a tile).
SEAMLESS_REPEATS = (Repeat.FULL, Repeat.HALF_DROP, Repeat.HALF_BRICK)


def period_block(tile: np.ndarray, repeat: Repeat | str) -> np.ndarray:
    """The smallest block whose plain grid is the repeat: the tile itself, or 2 x 1 / 1 x 2 / 2 x 2 of
    its shifted or mirrored copies."""
    repeat = Repeat(repeat)
    height, width = tile.shape[:2]
    if repeat in (Repeat.FULL, Repeat.NONE):
        return tile
    if repeat == Repeat.HALF_DROP:
        return np.concatenate([tile, np.roll(tile, height // 2, axis=0)], axis=1)
    if repeat == Repeat.HALF_BRICK:
        return np.concatenate([tile, np.roll(tile, width // 2, axis=1)], axis=0)
    top = np.concatenate([tile, tile[:, ::-1]], axis=1)
    return np.concatenate([top, top[::-1]], axis=0)


def repeat_canvas(
    tile: np.ndarray, repeat: Repeat | str, height: int, width: int, *, top: int = 0, left: int = 0
) -> np.ndarray:
    """`height` x `width` pixels of the repeat, starting at repeat coordinates (`top`, `left`).

    `none` is a plain grid too here: callers that want one tile and no repeat do not ask for more.
    """
    block = period_block(tile, repeat)
    block_h, block_w = block.shape[:2]
    start_y, start_x = top % block_h, left % block_w
    reps_y = -(-(start_y + height) // block_h)
    reps_x = -(-(start_x + width) // block_w)
    reps = (reps_y, reps_x) + (1,) * (block.ndim - 2)
    return np.tile(block, reps)[start_y : start_y + height, start_x : start_x + width]


def wrap_pad(tile: np.ndarray, repeat: Repeat | str, pad: int) -> np.ndarray:
    """The tile with `pad` pixels of its neighbours in the repeat on every side (what an upscaler or
    a filter needs to treat the tile's edges as the interior they become on cloth)."""
    height, width = tile.shape[:2]
    return repeat_canvas(tile, repeat, height + 2 * pad, width + 2 * pad, top=-pad, left=-pad)


def seam_ratio(tile: np.ndarray, repeat: Repeat | str = Repeat.FULL) -> float:
    """The difference across the tile's seams in the repeat over the interior neighbour difference
    (1.0: seamless; a tile that knows nothing of its neighbours is well above it).

    The seams are taken where the repeat puts them: for `half_drop` the right edge meets the next
    column's tile shifted by half a tile, for `half_brick` the bottom edge the next row's. For
    `full` this is the plain wrap-around measure.
    """
    image = tile.astype(np.float64)
    height, width = image.shape[:2]
    padded = wrap_pad(tile, repeat, 1).astype(np.float64)
    right = padded[1 : height + 1, width + 1]  # the column just right of the tile
    below = padded[height + 1, 1 : width + 1]  # the row just below it
    seams = (np.abs(image[:, -1] - right).mean() + np.abs(image[-1] - below).mean()) / 2
    interior = (np.abs(np.diff(image, axis=1)).mean() + np.abs(np.diff(image, axis=0)).mean()) / 2
    return float(seams / max(interior, 1e-9))
