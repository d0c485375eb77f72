"""The nitik dot grid: a motif as dots on a regular grid, as the canting nitik or a copper cap
stamp places them, written as an SVG sized in millimetres.

Each grid cell gets at most one dot. Its colour is one of the colourway's colours; the ground (the
colour most cells are nearest to) is the background. A dot of colour c and area a (a share of the
cell) over ground b averages to b + a (c - b): each cell takes the colour and area whose average is
nearest its own tone in the raster, so a darker cell gets a larger dot, up to dots that touch
(a = pi / 4). One `<circle>` per dot, grouped by colour in `<g fill=...>`.

The pitch divides the tile into a whole, even number of dots each way, so the grid repeats with the
tile in every repeat type (the half drop and half brick shift by half a tile, a whole number of
dots). The SVG is drawn back with a real renderer (resvg) and compared with the raster, cell by
cell: `render_difference` is the mean absolute difference per channel, 0-255.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

from services.common.errors import InvalidInputError
from services.common.repeats import Repeat, repeat_canvas

DEFAULT_DOTS_PER_TILE = 48
MAX_DOTS = 250_000  # a page's cells; past it the SVG is refused (a finer pitch than a print needs)
MAX_AREA = math.pi / 4  # a dot touching its four neighbours
MIN_AREA = 0.01  # smaller dots are not drawn
RENDER_PIXELS = 16_000_000  # the render-back's budget; at most 8 px per cell


@dataclass(frozen=True)
class DotGrid:
    svg: str
    dot_count: int
    pitch_mm: float
    columns: int  # cells across the page
    rows: int
    width_mm: float
    height_mm: float
    target: np.ndarray  # rows x columns x 3 uint8: the raster's tone per cell
    colors: tuple[str, ...]  # the dots' colours, then the ground last


def grid_size(tile_mm: tuple[float, float], pitch_mm: float | None) -> tuple[int, int, float]:
    """Dots across and down one tile (whole and even) and the pitch that makes them fit."""
    tile_w, tile_h = tile_mm
    across = DEFAULT_DOTS_PER_TILE if pitch_mm is None else tile_w / pitch_mm
    across = max(2, 2 * round(across / 2))
    pitch = tile_w / across
    down = max(2, 2 * round(tile_h / pitch / 2))
    return across, down, pitch


def dot_grid(
    tile: Image.Image,
    colors: np.ndarray,
    *,
    repeat: Repeat,
    width_mm: float,
    tiles_across: int,
    pitch_mm: float | None = None,
    symmetry: str = "none",
) -> DotGrid:
    """The page's dots for `tile` (RGB, in the colours the raster has) drawn in `colors` (k x 3)."""
    tile_mm = (width_mm / tiles_across, width_mm / tiles_across * tile.height / tile.width)
    across, down, pitch = grid_size(tile_mm, pitch_mm)
    tiles_down = tiles_across
    columns, rows = across * tiles_across, down * tiles_down
    if columns * rows > MAX_DOTS:
        finest = math.sqrt(columns * rows / MAX_DOTS) * pitch
        raise InvalidInputError(
            f"{columns}x{rows} dots is more than {MAX_DOTS}; at this width the finest pitch is "
            f"about {finest:.2f} mm"
        )
    cells = np.asarray(tile.resize((across, down), Image.Resampling.BOX), dtype=np.float64)
    if symmetry not in ("none", None):
        from services.generation.pakem import project_array  # numpy only at import

        cells = project_array(cells, symmetry)
    colors = np.unique(colors.astype(np.uint8), axis=0)
    ground, choice, area = _dots(cells, colors.astype(np.float64))
    # The page's cells: the tile's grid laid out by the repeat (the dots repeat with the tile).
    choice_page = repeat_canvas(choice, repeat, rows, columns)
    area_page = repeat_canvas(area, repeat, rows, columns)
    target = repeat_canvas(np.clip(np.rint(cells), 0, 255).astype(np.uint8), repeat, rows, columns)
    svg, count = _svg(choice_page, area_page, colors, ground, pitch)
    return DotGrid(
        svg=svg,
        dot_count=count,
        pitch_mm=pitch,
        columns=columns,
        rows=rows,
        width_mm=columns * pitch,
        height_mm=rows * pitch,
        target=target,
        colors=(*(_hex(c) for i, c in enumerate(colors) if i != ground), _hex(colors[ground])),
    )


def _dots(cells: np.ndarray, colors: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
    """The ground colour's index, and per cell the dot's colour index (255: none) and area."""
    flat = cells.reshape(-1, 3)
    nearest = np.argmin(((flat[:, None, :] - colors[None]) ** 2).sum(axis=2), axis=1)
    ground = int(np.bincount(nearest, minlength=len(colors)).argmax())
    base = colors[ground]
    best_error = ((flat - base) ** 2).sum(axis=1)  # no dot: the cell is ground
    choice = np.full(len(flat), 255, dtype=np.uint8)
    area = np.zeros(len(flat))
    for index, color in enumerate(colors):
        if index == ground:
            continue
        step = color - base
        share = np.clip((flat - base) @ step / max(step @ step, 1e-9), 0.0, MAX_AREA)
        error = ((base + share[:, None] * step - flat) ** 2).sum(axis=1)
        better = (error < best_error) & (share >= MIN_AREA)
        choice[better], area[better], best_error[better] = index, share[better], error[better]
    shape = cells.shape[:2]
    return ground, choice.reshape(shape), area.reshape(shape).astype(np.float32)


def _hex(color: np.ndarray) -> str:
    return "#" + "".join(f"{int(c):02x}" for c in color)


def _svg(
    choice: np.ndarray, area: np.ndarray, colors: np.ndarray, ground: int, pitch: float
) -> tuple[str, int]:
    rows, columns = choice.shape
    width, height = columns * pitch, rows * pitch
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.3f}mm" height="{height:.3f}mm" '
        f'viewBox="0 0 {width:.3f} {height:.3f}">\n',
        f'<rect width="{width:.3f}" height="{height:.3f}" fill="{_hex(colors[ground])}"/>\n',
    ]
    count = 0
    for index, color in enumerate(colors):
        ys, xs = np.nonzero(choice == index)
        if index == ground or not len(ys):
            continue
        radii = pitch * np.sqrt(area[ys, xs] / math.pi)
        parts.append(f'<g fill="{_hex(color)}">\n')
        parts.extend(
            f'<circle cx="{(x + 0.5) * pitch:.3f}" cy="{(y + 0.5) * pitch:.3f}" r="{r:.3f}"/>\n'
            for y, x, r in zip(ys.tolist(), xs.tolist(), radii.tolist(), strict=True)
        )
        parts.append("</g>\n")
        count += len(ys)
    parts.append("</svg>\n")
    return "".join(parts), count


def render_difference(grid: DotGrid) -> float:
    """Draw the SVG with resvg and compare it, cell by cell, with the raster's tone per cell:
    the mean absolute difference per channel (0-255)."""
    import resvg_py  # the renderer; imported here so the raster formats never need it

    scale = max(2, min(8, math.isqrt(RENDER_PIXELS // (grid.columns * grid.rows))))
    # resvg needs a dpi to read millimetres (its default, 0, refuses them): `scale` px per pitch.
    png = resvg_py.svg_to_bytes(
        svg_string=grid.svg,
        width=grid.columns * scale,
        height=grid.rows * scale,
        dpi=scale / grid.pitch_mm * 25.4,
    )
    with Image.open(io.BytesIO(bytes(png))) as drawn:
        pixels = np.asarray(drawn.convert("RGB"), dtype=np.float32)
    drawn_cells = pixels.reshape(grid.rows, scale, grid.columns, scale, 3).mean(axis=(1, 3))
    return float(np.abs(drawn_cells - grid.target).mean())
