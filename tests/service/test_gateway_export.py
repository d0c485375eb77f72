"""Export and colourways through the gateway, against the real library service over HTTP (as in
test_gateway_library.py): a design (a seamless 512 px tile saved in the library as its owner) exports
as a 20 cm, 300 dpi PNG of 2362 px whose file says 300 dpi in each repeat type, with its seam closed;
as a PDF of the right page size; as the nitik dot grid SVG; another key's design and an unknown one
are 404; bad options 422 in the envelope; colourways are saved as child designs."""

from __future__ import annotations

import base64
import hashlib
import io
import re

import httpx
import numpy as np
import pytest
from PIL import Image

from gateway.security import OWNER_ID_HEX
from services.common.contracts.library import OWNER_HEADER
from services.common.export.palettes import palette
from services.common.repeats import SEAMLESS_REPEATS, Repeat, seam_ratio
from tests.helpers import LibraryServer, assert_envelope, b64, image_bytes
from tests.service.test_gateway_library import KEYS, as_, gateway
from tests.unit.test_export import seamless_tile


def owner_of(name: str) -> str:
    return hashlib.sha256(KEYS[name].encode()).hexdigest()[:OWNER_ID_HEX]


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    """A library of this module's own: its designs never crowd another module's lists."""
    running = LibraryServer(tmp_path_factory.mktemp("export-library"))
    running.start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def client(tiny_models, upstream_apps, library):
    with gateway(tiny_models, upstream_apps, library) as client:
        yield client


def saved_tile(library, repeat: Repeat, who: str = "alice", **provenance) -> str:
    """A seamless tile saved in the library as `who`'s design (as the gateway saves one)."""
    png = image_bytes(Image.fromarray(seamless_tile(repeat, 512)))
    answer = httpx.post(
        f"{library.url}/v1/designs",
        json={"image_b64": b64(png), "provenance": {"tile": True, **provenance}},
        headers={OWNER_HEADER: owner_of(who)},
    )
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


@pytest.fixture(scope="module")
def designs(library):
    return {repeat: saved_tile(library, repeat, symmetry="none") for repeat in SEAMLESS_REPEATS}


def export(client, design_id, who="alice", **body):
    return client.post(f"/v1/designs/{design_id}/export", json=body, headers=as_(who))


@pytest.mark.parametrize("repeat", list(Repeat))
def test_a_design_exports_as_a_20_cm_300_dpi_png_in_each_repeat(client, designs, repeat):
    design_id = designs[repeat if repeat in SEAMLESS_REPEATS else Repeat.FULL]
    answer = export(client, design_id, format="png", width_cm=20, dpi=300, repeat=repeat)
    assert answer.status_code == 200, answer.text
    assert (
        answer.headers["content-type"] == "image/png" and answer.headers["x-upscaler"] == "lanczos"
    )
    assert answer.headers["content-disposition"] == (
        f'attachment; filename="{design_id}-{repeat}-20cm-300dpi.png"'
    )
    page = Image.open(io.BytesIO(answer.content))
    assert page.width == 2362 and [round(v) for v in page.info["dpi"]] == [300, 300]
    width, height = (int(v) for v in answer.headers["x-tile-pixels"].split("x"))
    if repeat in SEAMLESS_REPEATS:
        period = np.asarray(page.convert("RGB"))[:height, :width]
        assert seam_ratio(period, repeat) <= 1.1


def test_a_pdf_has_the_physical_page_size_and_a_tiff_its_resolution(client, designs):
    pdf = export(client, designs[Repeat.FULL], format="pdf", width_cm=20, dpi=300)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    width_pt, height_pt = (
        float(v) for v in re.search(rb"/MediaBox \[ ?0 0 ([\d.]+) ([\d.]+)", pdf.content).groups()
    )
    assert width_pt / 72 * 2.54 == pytest.approx(20, abs=0.01) and height_pt == width_pt
    tiff = export(client, designs[Repeat.FULL], format="tiff", width_px=1000, dpi=150)
    page = Image.open(io.BytesIO(tiff.content))
    assert page.size == (1000, 1000) and page.tag_v2[282] == 150
    assert tiff.headers["content-disposition"].endswith('-full-1000px-150dpi.tiff"')


def test_the_svg_is_the_nitik_dot_grid_with_its_figures_in_headers(client, library):
    design_id = saved_tile(library, Repeat.FULL, symmetry="d4")
    answer = export(
        client, design_id, format="svg", width_cm=20, palette="sogan_yogya", symmetry="design"
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("image/svg+xml")
    svg = answer.text
    assert 'width="200.000mm"' in svg
    assert svg.count("<circle") == int(answer.headers["x-dot-count"]) > 1000
    assert set(re.findall(r'<g fill="(#[0-9a-f]{6})">', svg)) <= set(palette("sogan_yogya").colors)
    assert float(answer.headers["x-render-difference"]) < 20


def test_another_keys_design_and_an_unknown_one_are_404(client, designs):
    assert_envelope(export(client, designs[Repeat.FULL], who="bob"), 404, "not_found")
    assert_envelope(export(client, "d_" + "0" * 20), 404, "not_found")
    assert_envelope(export(client, "nonsense"), 404, "not_found")
    body = {"palettes": ["indigo_cream"]}
    colorways = client.post(
        f"/v1/designs/{designs[Repeat.FULL]}/colorways", json=body, headers=as_("bob")
    )
    assert_envelope(colorways, 404, "not_found")


@pytest.mark.parametrize(
    "body, words",
    [
        ({"dpi": 601}, "dpi"),
        ({"dpi": 50}, "dpi"),
        ({"width_cm": 0}, "width_cm"),
        ({"repeat": "diagonal"}, "repeat"),
        ({"palette": "neon"}, "unknown palette"),
        ({"colors": 33}, "colors"),
        ({"width_cm": 20, "dpi": 600}, "the largest page of this shape is 4096 px (17.3 cm)"),
        ({"width_px": 100000}, "limit is"),
    ],
)
def test_bad_options_are_422_in_the_envelope(client, designs, body, words):
    error = assert_envelope(export(client, designs[Repeat.FULL], **body), 422, "validation")
    assert words in error["message"]


def export_upload(client, tile: bytes | None, name="my tile.png", who="alice", **fields):
    files = {"image": (name, tile, "image/png")} if tile is not None else None
    data = {k: str(v) for k, v in fields.items()}
    return client.post("/v1/export", files=files, data=data, headers=as_(who))


def test_an_uploaded_tile_exports_like_a_design_and_nothing_is_saved(client, library):
    tile = image_bytes(Image.fromarray(seamless_tile(Repeat.HALF_DROP, 512)))
    before = httpx.get(f"{library.url}/v1/designs", headers={OWNER_HEADER: owner_of("alice")})
    answer = export_upload(client, tile, width_cm=20, dpi=300, repeat="half_drop")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-disposition"] == (
        'attachment; filename="my_tile-half_drop-20cm-300dpi.png"'
    )
    page = Image.open(io.BytesIO(answer.content))
    assert page.width == 2362 and [round(v) for v in page.info["dpi"]] == [300, 300]
    width, height = (int(v) for v in answer.headers["x-tile-pixels"].split("x"))
    assert seam_ratio(np.asarray(page.convert("RGB"))[:height, :width], Repeat.HALF_DROP) <= 1.1
    svg = export_upload(client, tile, format="svg", width_cm=10, palette="indigo_cream")
    assert svg.status_code == 200 and svg.text.count("<circle") == int(svg.headers["x-dot-count"])
    after = httpx.get(f"{library.url}/v1/designs", headers={OWNER_HEADER: owner_of("alice")})
    assert after.json()["designs"] == before.json()["designs"]


@pytest.mark.parametrize(
    "tile, fields, status, kind, words",
    [
        (b"%PDF-1.4 not an image", {}, 415, "unsupported_media", "image"),
        (None, {"dpi": 300}, 422, "validation", "image"),
        ("tile", {"dpi": 601}, 422, "validation", "dpi"),
        ("tile", {"width_cm": 0}, 422, "validation", "width_cm"),
        ("tile", {"repeat": "diagonal"}, 422, "validation", "repeat"),
        ("tile", {"palette": "neon"}, 422, "validation", "unknown palette"),
        ("tile", {"colors": 33}, 422, "validation", "colors"),
        ("tile", {"symmetry": "design"}, 422, "validation", "symmetry"),
        ("tile", {"width_cm": 20, "dpi": 600}, 422, "validation", "the largest page"),
    ],
)
def test_a_bad_upload_or_option_is_refused_in_the_envelope(
    client, tile, fields, status, kind, words
):
    if tile == "tile":
        tile = image_bytes(Image.fromarray(seamless_tile(Repeat.FULL, 64)))
    error = assert_envelope(export_upload(client, tile, **fields), status, kind)
    assert words in error["message"]


def test_colourways_come_side_by_side_and_are_saved_as_child_designs(client, designs):
    parent = designs[Repeat.FULL]
    answer = client.post(
        f"/v1/designs/{parent}/colorways",
        json={"palettes": ["sogan_yogya", "indigo_cream"]},
        headers=as_("alice"),
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["parent_id"] == parent and [c["palette"] for c in body["colorways"]] == [
        "sogan_yogya",
        "indigo_cream",
    ]
    sheet = Image.open(io.BytesIO(base64.b64decode(body["sheet"])))
    assert sheet.size == (3 * 512 + 2 * 8, 512)  # the original and two variants
    for way in body["colorways"]:
        child = client.get(f"/v1/designs/{way['id']}", headers=as_("alice")).json()
        assert child["parent_id"] == parent and "colorway" in child["tags"]
        assert child["provenance"]["colorway"]["palette"] == way["palette"]
        assert "Kerlogue" in child["provenance"]["colorway"]["source"]
        png = client.get(child["url"], headers=as_("alice")).content
        used = {
            tuple(c)
            for c in np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))[::8, ::8].reshape(-1, 3)
        }
        assert used <= {tuple(c) for c in palette(way["palette"]).rgb()}
    nothing = client.post(
        f"/v1/designs/{parent}/colorways",
        json={"palettes": ["sogan_solo"], "save": False},
        headers=as_("alice"),
    )
    assert nothing.json()["colorways"][0]["id"] is None
    bad = client.post(
        f"/v1/designs/{parent}/colorways", json={"palettes": ["neon"]}, headers=as_("alice")
    )
    assert_envelope(bad, 422, "validation")


def test_with_the_generation_upscaler_the_tile_is_upscaled_there_and_keeps_its_seam(
    tiny_models,
    upstream_apps,
    library,
    designs,
):
    with gateway(tiny_models, upstream_apps, library, export_upscaler="generation") as client:
        answer = export(client, designs[Repeat.HALF_DROP], repeat="half_drop", width_cm=10)
    assert answer.status_code == 200, answer.text
    # The generation service says which of its upscalers ran (the tiny stack has no diffusion one).
    assert answer.headers["x-upscaler"].split()[0] in ("lanczos", "diffusion")
    page = Image.open(io.BytesIO(answer.content))
    assert page.width == 1181 and round(page.info["dpi"][0]) == 300
    width, height = (int(v) for v in answer.headers["x-tile-pixels"].split("x"))
    period = np.asarray(page.convert("RGB"))[:height, :width]
    assert seam_ratio(period, "half_drop") <= 1.1
