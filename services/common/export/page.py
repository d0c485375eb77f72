"""The page of an export: how many pixels the tile and the page get at the requested physical
width and dpi, checked against the pixel cap before any pixel is made."""

from __future__ import annotations

import math
from dataclasses import dataclass

from services.common.contracts.export import ExportRequest
from services.common.errors import InvalidInputError
from services.common.repeats import Repeat

CM_PER_INCH = 2.54


class ExportTooLargeError(InvalidInputError):
    """The page would have more pixels than the cap; the message names the largest size allowed."""


@dataclass(frozen=True)
class PagePlan:
    repeat: Repeat
    dpi: int
    tile_width: int  # the tile as laid on the page, pixels
    tile_height: int
    width: int  # the page, pixels
    height: int
    tiles_across: int
    tiles_down: int

    @property
    def width_cm(self) -> float:
        return self.width / self.dpi * CM_PER_INCH

    @property
    def height_cm(self) -> float:
        return self.height / self.dpi * CM_PER_INCH


def plan_page(options: ExportRequest, tile_size: tuple[int, int], max_pixels: int) -> PagePlan:
    """The page for `options` from a tile of `tile_size` (width, height): `tiles_across` tiles of
    equal width across the page, as many rows down (one tile for repeat none)."""
    tile_w, tile_h = tile_size
    width = options.page_width_px()
    across = options.tiles()
    tile_width = round(width / across)
    if tile_width < 1:
        raise InvalidInputError(f"{across} tiles across {width} px leave no pixel per tile")
    tile_height = max(1, round(tile_width * tile_h / tile_w))
    down = across
    height = tile_height * down
    if width * height > max_pixels:
        raise ExportTooLargeError(_too_large(width, height, options.dpi, max_pixels))
    return PagePlan(
        repeat=options.repeat,
        dpi=options.dpi,
        tile_width=tile_width,
        tile_height=tile_height,
        width=width,
        height=height,
        tiles_across=across,
        tiles_down=down,
    )


def _too_large(width: int, height: int, dpi: int, max_pixels: int) -> str:
    scale = math.sqrt(max_pixels / (width * height))
    largest = math.floor(width * scale)
    while largest > 1 and largest * math.ceil(height * largest / width) > max_pixels:
        largest -= 1
    return (
        f"the page would be {width}x{height} pixels ({width * height}); the limit is {max_pixels} "
        f"pixels, so at {dpi} dpi the largest page of this shape is {largest} px "
        f"({largest / dpi * CM_PER_INCH:.1f} cm) wide"
    )
