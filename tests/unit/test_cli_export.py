"""`batik export IMAGE --out FILE`: the engine's file written atomically; refusals leave nothing."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from services.cli import main
from tests.unit.test_export import tile_image


@pytest.fixture()
def tile(tmp_path):
    path = tmp_path / "tile.png"
    tile_image(size=128).save(path)
    return path


def test_a_tile_exports_as_a_20_cm_300_dpi_half_drop_png(tile, tmp_path, capsys):
    out = tmp_path / "print.png"
    assert main(["export", str(tile), "--out", str(out), "--repeat", "half_drop"]) == 0
    with Image.open(out) as page:
        assert page.width == 2362 and round(page.info["dpi"][0]) == 300
    said = json.loads(capsys.readouterr().out)
    assert said["out"] == str(out) and said["X-Tile-Pixels"] == "1181x1180"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["print.png", "tile.png"]  # no temp


def test_the_format_follows_the_suffix_and_the_svg_reports_its_dots(tile, tmp_path, capsys):
    out = tmp_path / "dots.svg"
    assert main(["export", str(tile), "--out", str(out), "--colors", "3"]) == 0
    said = json.loads(capsys.readouterr().out)
    assert out.read_text().count("<circle") == int(said["X-Dot-Count"]) > 0
    assert float(said["X-Render-Difference"]) < 20


@pytest.mark.parametrize(
    "flags",
    [
        ["--dpi", "601"],
        ["--colors", "33"],
        ["--palette", "neon"],
        ["--width-cm", "0"],
        ["--width-cm", "20", "--dpi", "600"],  # over the pixel cap
    ],
)
def test_a_refused_export_writes_nothing_and_keeps_the_old_file(tile, tmp_path, capsys, flags):
    out = tmp_path / "print.png"
    out.write_bytes(b"the old print")
    assert main(["export", str(tile), "--out", str(out), *flags]) == 2
    assert out.read_bytes() == b"the old print"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["print.png", "tile.png"]
    assert capsys.readouterr().err.startswith("batik export: ")


def test_a_file_that_is_no_image_is_refused(tmp_path, capsys):
    fake = tmp_path / "fake.png"
    fake.write_text("not a picture")
    assert main(["export", str(fake), "--out", str(tmp_path / "out.png")]) == 2
    assert "not an image format we accept" in capsys.readouterr().err
    assert not (tmp_path / "out.png").exists()
