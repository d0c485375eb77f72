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
    # The half offset must fall on a whole pixel (services/common/upscaling.check_target): the
    # offset side is rounded to an even count, at most a pixel off the tile's aspect.
    tile_width = _rounded(width / across, even=options.repeat == Repeat.HALF_BRICK)
    tile_height = _rounded(tile_width * tile_h / tile_w, even=options.repeat == Repeat.HALF_DROP)
    down = across
    height = tile_height * down
    # An SVG is no pixels: its bound is the dot count (dots.MAX_DOTS).
    if options.format != "svg" and width * height > max_pixels:
        raise ExportTooLargeError(_too_large(width, height, options.dpi, max_pixels))
    return PagePlan(
        repeat=Repeat(options.repeat),
        dpi=options.dpi,
        tile_width=tile_width,
        tile_height=tile_height,
        width=width,
        height=height,
        tiles_across=across,
        tiles_down=down,
    )


def _rounded(size: float, *, even: bool) -> int:
    if even:
        return max(2, 2 * round(size / 2))
    return max(1, round(size))


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
