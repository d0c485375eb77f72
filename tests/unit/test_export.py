"""The export engine (services/common/export): physical size and resolution in each file format,
the repeat laid out around an upscaled tile whose seam stays closed, the pixel cap, colourways and
the nitik dot grid drawn back by a real renderer (resvg)."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from typing import get_args

import numpy as np
import pytest
from PIL import Image
from pydantic import ValidationError

from services.common.contracts.export import ColorwayRequest, ExportRequest, RepeatName
from services.common.export.colorways import colorway
from services.common.export.engine import export_image
from services.common.export.page import ExportTooLargeError
from services.common.export.palettes import luminance, palette, palettes
from services.common.repeats import SEAMLESS_REPEATS, Repeat, repeat_canvas, seam_ratio

CAP = 4096 * 4096
SVG = "{http://www.w3.org/2000/svg}"


def seamless_tile(repeat: Repeat, size: int, seed: int = 0) -> np.ndarray:
    """A square RGB tile seamless in `repeat`, with edges as sharp as a motif's: plane waves
    periodic on the repeat's lattice (as tests/unit/test_upscaling.py), up to 24 cycles a tile,
    through a sigmoid. The seam ratio of a smooth field is noise (its pixel steps are below one
    grey level); this one's is that of a drawn design."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size].astype(float) + 0.5
    field = np.zeros((size, size))
    for _ in range(24):
        m, n = rng.integers(-24, 25, 2)
        kx, ky = m / size, n / size
        if repeat == Repeat.HALF_DROP:
            kx = (m - n / 2) / size
        elif repeat == Repeat.HALF_BRICK:
            ky = (n - m / 2) / size
        field += np.cos(2 * np.pi * (kx * x + ky * y) + rng.uniform(0, 2 * np.pi))
    field = 1 / (1 + np.exp(-3 * field))
    return np.rint(30 + 195 * np.stack([field, field[::-1], 1 - field], axis=-1)).astype(np.uint8)


def tile_image(repeat: Repeat = Repeat.FULL, size: int = 512) -> Image.Image:
    return Image.fromarray(seamless_tile(repeat, size))


def opened(content: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(content))
    image.load()
    return image


def tile_size(result) -> tuple[int, int]:
    width, height = result.headers["X-Tile-Pixels"].split("x")
    return int(width), int(height)


@pytest.mark.parametrize("repeat", list(Repeat))
def test_a_20_cm_300_dpi_png_is_2362_px_wide_and_says_300_dpi_in_each_repeat(repeat):
    source = tile_image(repeat if repeat in SEAMLESS_REPEATS else Repeat.FULL)
    result = export_image(
        source, ExportRequest(width_cm=20, dpi=300, repeat=repeat), max_pixels=CAP
    )
    page = opened(result.content)
    assert result.media_type == "image/png" and page.format == "PNG"
    assert page.width == 2362
    assert [round(v) for v in page.info["dpi"]] == [300, 300]  # the pHYs chunk
    width, height = tile_size(result)
    # Half a tile must be a whole pixel: the half brick's tile is an even 1180 px wide.
    assert width == {Repeat.NONE: 2362, Repeat.HALF_BRICK: 1180}.get(repeat, 1181)
    pixels = np.asarray(page.convert("RGB"))
    period = pixels[:height, :width]
    # The page is the repeat of its first tile, laid out as the repeat type says.
    assert np.array_equal(pixels, repeat_canvas(period, repeat, *pixels.shape[:2]))
    if repeat in SEAMLESS_REPEATS:
        own = seam_ratio(np.asarray(source), repeat)
        assert seam_ratio(period, repeat) <= min(1.1, 1.1 * own)


def test_a_plain_resize_would_open_the_seam_the_export_keeps():
    # The check above can fail: the same tile resized without its neighbours seams visibly.
    source = tile_image(Repeat.HALF_DROP)
    plain = np.asarray(source.resize((1181, 1180), Image.Resampling.LANCZOS))
    result = export_image(source, ExportRequest(repeat="half_drop", width_cm=20), max_pixels=CAP)
    period = np.asarray(opened(result.content).convert("RGB"))[:1180, :1181]
    assert seam_ratio(period, "half_drop") <= 1.1 < 1.4 < seam_ratio(plain, "half_drop")


def test_tiff_has_resolution_tags_and_pdf_the_physical_page_size():
    source = tile_image()
    tiff = export_image(source, ExportRequest(format="tiff", dpi=150, width_cm=10), max_pixels=CAP)
    page = opened(tiff.content)
    assert page.format == "TIFF" and page.width == 591  # 10 cm at 150 dpi
    assert page.tag_v2[282] == 150 and page.tag_v2[283] == 150 and page.tag_v2[296] == 2  # inch
    pdf = export_image(source, ExportRequest(format="pdf", dpi=300, width_cm=20), max_pixels=CAP)
    assert pdf.media_type == "application/pdf" and pdf.content.startswith(b"%PDF")
    box = re.search(rb"/MediaBox \[ ?0 0 ([\d.]+) ([\d.]+) ?\]", pdf.content)
    width_pt, height_pt = (float(v) for v in box.groups())
    assert width_pt / 72 * 2.54 == pytest.approx(20, abs=0.01)  # 2362 px at 300 dpi
    assert height_pt == pytest.approx(width_pt)


def test_a_page_over_the_pixel_cap_is_refused_naming_the_largest_size_at_that_dpi():
    with pytest.raises(ExportTooLargeError) as refused:
        export_image(tile_image(), ExportRequest(width_cm=20, dpi=600), max_pixels=CAP)
    message = str(refused.value)
    assert "4724x4724" in message and "4096 px (17.3 cm)" in message and "600 dpi" in message
    # The size it names is allowed.
    fits = export_image(tile_image(size=64), ExportRequest(width_px=4096, dpi=600), max_pixels=CAP)
    assert opened(fits.content).size == (4096, 4096)


@pytest.mark.parametrize(
    "body",
    [
        {"dpi": 71},
        {"dpi": 601},
        {"width_cm": 0},
        {"width_px": 0},
        {"repeat": "diagonal"},
        {"palette": "neon"},
        {"colors": 33},
        {"colors": 1},
        {"format": "jpeg"},
        {"width_cm": 10, "width_px": 100},
        {"repeat": "none", "tiles_across": 3},
        {"dpi": 300, "unknown": 1},
    ],
)
def test_bad_export_options_are_refused_by_the_contract(body):
    with pytest.raises(ValidationError):
        ExportRequest.model_validate(body)


def test_the_body_is_strict_and_names_every_repeat_type():
    assert set(get_args(RepeatName)) == {r.value for r in Repeat}
    for body in ({"dpi": "300"}, {"width_cm": "20"}, {"colors": 4.0}):
        with pytest.raises(ValidationError):
            ExportRequest.model_validate(body)
    assert (
        ExportRequest.model_validate({"width_cm": 20, "repeat": "mirror"}).page_width_px() == 2362
    )


def test_colourway_requests_name_known_palettes_once():
    for body in ({"palettes": []}, {"palettes": ["neon"]}, {"palettes": ["indigo_cream"] * 2}):
        with pytest.raises(ValidationError):
            ColorwayRequest.model_validate(body)
    assert ColorwayRequest(palettes=["indigo_cream"]).save is True


def test_every_palette_has_colours_darkest_first_and_a_source():
    assert {"sogan_yogya", "sogan_solo", "indigo_cream", "bang_biru_lasem"} <= set(palettes())
    for named in palettes().values():
        assert len(named.colors) >= 2 and len(named.source) > 40
        assert np.all(np.diff(luminance(named.rgb())) >= 0)


def test_a_colourway_keeps_the_structure_dark_stays_dark():
    source = tile_image(size=128)
    way = colorway(source, palette=palette("indigo_cream"))
    mapped = np.asarray(way.apply(source))
    original = np.asarray(source)
    # Only the palette's colours, each cluster one colour: a pixel's cluster decides its colour.
    used = {tuple(c) for c in mapped.reshape(-1, 3)}
    assert used <= {tuple(c) for c in palette("indigo_cream").rgb()} and len(used) == 4
    # Brighter in the original, brighter (or the same colour) in the colourway, cluster by cluster.
    labels = np.asarray(way.indexed(source))
    order = sorted(np.unique(labels), key=lambda k: luminance(original[labels == k]).mean())
    lum = [luminance(mapped[labels == k][0]) for k in order]
    assert lum == sorted(lum)
    # N colours without a palette: the clusters' own colours.
    eight = np.asarray(colorway(source, colors=8).apply(source))
    assert len({tuple(c) for c in eight.reshape(-1, 3)}) == 8
    assert np.abs(eight.astype(int) - original).mean() < 20


def test_a_palette_export_uses_only_the_palette_and_is_still_300_dpi():
    result = export_image(
        tile_image(), ExportRequest(palette="sogan_solo", repeat="mirror"), max_pixels=CAP
    )
    page = opened(result.content)
    assert page.mode == "P" and round(page.info["dpi"][0]) == 300
    used = {tuple(c) for c in np.asarray(page.convert("RGB")).reshape(-1, 3)}
    assert used <= {tuple(c) for c in palette("sogan_solo").rgb()}
    assert result.headers["X-Colors"] == ",".join(palette("sogan_solo").colors)


def dots_of(svg: bytes) -> ET.Element:
    return ET.fromstring(svg)


@pytest.mark.parametrize("repeat", ["full", "half_drop", "half_brick", "mirror"])
def test_the_nitik_dot_grid_is_an_svg_of_dots_in_mm_that_resvg_draws_close_to_the_raster(repeat):
    source = tile_image(Repeat(repeat) if repeat != "mirror" else Repeat.FULL, 128)
    result = export_image(
        source,
        ExportRequest(format="svg", width_cm=20, repeat=repeat, palette="indigo_cream"),
        max_pixels=CAP,
    )
    root = dots_of(result.content)
    assert root.get("width") == "200.000mm" and root.get("height") == "200.000mm"
    groups = root.findall(f"{SVG}g")
    fills = [g.get("fill") for g in groups]
    assert len(fills) == len(set(fills)) >= 2  # one group per colour
    assert set(fills) <= set(palette("indigo_cream").colors)
    circles = root.findall(f"{SVG}g/{SVG}circle")
    assert len(circles) == int(result.headers["X-Dot-Count"]) > 1000
    pitch = float(result.headers["X-Dot-Pitch-Mm"])
    assert pitch == pytest.approx(200 / 96, rel=1e-3)  # 48 dots a tile, 2 tiles across
    radii = {float(c.get("r")) for c in circles}
    assert max(radii) <= pitch / 2 + 1e-3 and len(radii) > 10  # sizes follow the tone
    # Drawn back by resvg: close to the raster, cell by cell.
    assert float(result.headers["X-Render-Difference"]) < 20


def test_the_dot_grid_repeats_with_the_tile_and_can_be_symmetrised():
    source = tile_image(Repeat.HALF_DROP, 128)
    half_drop = dots_of(
        export_image(
            source, ExportRequest(format="svg", repeat="half_drop", colors=3), max_pixels=CAP
        ).content
    )
    cells = {}
    pitch = 200 / 96
    for circle in half_drop.iter(f"{SVG}circle"):
        x = int(float(circle.get("cx")) / pitch)
        y = int(float(circle.get("cy")) / pitch)
        cells[(y, x)] = circle.get("r")
    # The second column of tiles is the first moved down by half a tile (24 dots), wrapping.
    for (y, x), r in list(cells.items())[:500]:
        if x < 48:
            assert cells.get(((y + 24) % 96, x + 48)) == r
    d4 = export_image(
        source, ExportRequest(format="svg", colors=3, symmetry="d4"), max_pixels=CAP, symmetry="d4"
    )
    grid = {}
    for circle in dots_of(d4.content).iter(f"{SVG}circle"):
        grid[(int(float(circle.get("cy")) / pitch), int(float(circle.get("cx")) / pitch))] = 1
    assert all(grid.get((x, y)) for (y, x) in grid if y < 48 and x < 48)  # mirrored diagonally


def test_a_dot_pitch_finer_than_the_dot_cap_is_refused():
    with pytest.raises(ValueError, match="finest pitch"):
        export_image(
            tile_image(size=64),
            ExportRequest(format="svg", width_cm=300, dot_pitch_mm=0.3, tiles_across=1),
            max_pixels=CAP,
        )
