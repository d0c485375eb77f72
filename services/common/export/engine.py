"""One export: a tile in, the file's bytes out (with what a client wants to know about it).

Raster formats: the tile is upscaled once to its size on the page (with its repeat neighbours as
context, so the seam stays closed), the colourway applied to that one tile, and the page laid out
from it with `repeat_canvas` (uint8, or one byte per pixel for a colourway). Nothing of the page's
size is ever float. SVG: the nitik dot grid, measured against the raster by a real renderer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from services.common.contracts.export import ExportRequest
from services.common.export.colorways import Colorway, colorway
from services.common.export.dots import dot_grid, render_difference
from services.common.export.page import PagePlan, plan_page
from services.common.export.palettes import palette
from services.common.export.raster import MEDIA_TYPES, encode_page
from services.common.repeats import repeat_canvas
from services.common.upscaling import lanczos_upscale

DOT_COLORS = 4  # the dots' colours when neither a palette nor a number of colours is asked


@dataclass(frozen=True)
class ExportResult:
    content: bytes
    media_type: str
    extension: str
    headers: dict[str, str] = field(default_factory=dict)  # facts about the file, X-...


def export_image(
    tile: Image.Image, options: ExportRequest, *, max_pixels: int, symmetry: str = "none"
) -> ExportResult:
    """The whole export on this machine (Lanczos): what `batik export` runs."""
    plan = plan_page(options, tile.size, max_pixels)
    return render_export(tile, options, plan, symmetry=symmetry)


def upscale_for_page(tile: Image.Image, plan: PagePlan) -> Image.Image:
    """The tile at its size on the page, keeping its seam (Lanczos with the repeat's context)."""
    pixels = np.asarray(tile.convert("RGB"))
    big = lanczos_upscale(pixels, plan.repeat, plan.tile_width, plan.tile_height)
    return Image.fromarray(big)


def _colorway(tile: Image.Image, options: ExportRequest, default: int | None) -> Colorway | None:
    named = palette(options.palette) if options.palette else None
    colors = options.colors if options.colors is not None else (None if named else default)
    if named is None and colors is None:
        return None
    return colorway(tile, palette=named, colors=colors)


def render_export(
    tile: Image.Image,
    options: ExportRequest,
    plan: PagePlan,
    *,
    upscaled: Image.Image | None = None,
    symmetry: str = "none",
) -> ExportResult:
    """The file for a planned page. `upscaled`: the tile already at (plan.tile_width,
    plan.tile_height) from another upscaler; without it, Lanczos here."""
    tile = tile.convert("RGB")
    if options.format == "svg":
        return _svg(tile, options, plan, symmetry)
    way = _colorway(tile, options, None)
    big = upscaled.convert("RGB") if upscaled is not None else upscale_for_page(tile, plan)
    if big.size != (plan.tile_width, plan.tile_height):
        raise ValueError(
            f"the upscaled tile is {big.size}, the page needs {plan.tile_width}x{plan.tile_height}"
        )
    if way is not None:
        indexed = way.indexed(big)  # one byte per pixel; the page is laid out in indices
        page = Image.fromarray(_layout(np.asarray(indexed), plan), mode="L")
        page.putpalette(indexed.getpalette())
    else:
        page = Image.fromarray(_layout(np.asarray(big), plan))
    headers = {
        "X-Page-Pixels": f"{plan.width}x{plan.height}",
        "X-Page-Size-Cm": f"{plan.width_cm:.2f}x{plan.height_cm:.2f}",
        "X-Tile-Pixels": f"{plan.tile_width}x{plan.tile_height}",
        "X-Dpi": str(plan.dpi),
    }
    if way is not None:
        headers["X-Colors"] = ",".join(way.hex_colors())
    content = encode_page(page, options.format, plan.dpi)
    return ExportResult(content, MEDIA_TYPES[options.format], options.format, headers)


def _layout(tile: np.ndarray, plan: PagePlan) -> np.ndarray:
    return np.ascontiguousarray(repeat_canvas(tile, plan.repeat, plan.height, plan.width))


def _svg(tile: Image.Image, options: ExportRequest, plan: PagePlan, symmetry: str) -> ExportResult:
    way = _colorway(tile, options, DOT_COLORS)
    asked = options.palette is not None or options.colors is not None
    # The raster the dots stand for: the tile in the colourway when one was asked, else as it is.
    raster = way.apply(tile) if asked else tile
    grid = dot_grid(
        raster,
        way.colors,
        repeat=plan.repeat,
        width_mm=options.page_width_cm() * 10,
        tiles_across=plan.tiles_across,
        pitch_mm=options.dot_pitch_mm,
        symmetry=symmetry,
    )
    difference = render_difference(grid)
    headers = {
        "X-Dot-Count": str(grid.dot_count),
        "X-Dot-Pitch-Mm": f"{grid.pitch_mm:.4f}",
        "X-Dot-Grid": f"{grid.columns}x{grid.rows}",
        "X-Page-Size-Mm": f"{grid.width_mm:.2f}x{grid.height_mm:.2f}",
        "X-Render-Difference": f"{difference:.2f}",
        "X-Colors": ",".join(grid.colors),
    }
    return ExportResult(grid.svg.encode(), MEDIA_TYPES["svg"], "svg", headers)
