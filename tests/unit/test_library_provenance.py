"""Settings inside the PNG: our chunks written and read back, and other tools' A1111 `parameters`."""

from __future__ import annotations

import io
import zlib

import pytest
from PIL import Image, PngImagePlugin

from services.common.errors import InvalidInputError
from services.library.provenance import (
    embed_settings,
    format_parameters,
    parse_parameters,
    read_header,
    read_text_chunks,
    recall_request,
    request_from_parameters,
)
from tests.helpers import image_bytes

PROVENANCE = {
    "request": {"text": "kawung nitik", "top_k": 3, "tile": True, "symmetry": "d4"},
    "prompt": {"text": "kawung nitik, brown batik, four petals", "parts": [], "cut": []},
    "negative_prompt": "blurry, text",
    "references": [{"id": 4, "score": 0.9, "motif": {"number": 12, "name": "Kawung"}}],
    "seed": 1234,
    "scheduler": "dpmpp_2m",
    "steps": 25,
    "strength": 0.6,
    "guidance_scale": 8.0,
    "tile": True,
    "symmetry": "d4",
    "versions": {"model": "sd15-tiny", "adapter": "nitik-lora", "index": "v3"},
    "note": "ünïcode survives",
}


def _png() -> bytes:
    return image_bytes(Image.new("RGB", (40, 24), (90, 50, 20)))


def test_our_png_keeps_its_pixels_and_reads_back_both_chunks():
    original = _png()
    stored = embed_settings(original, PROVENANCE, read_header(original))
    with Image.open(io.BytesIO(stored)) as image, Image.open(io.BytesIO(original)) as before:
        assert image.tobytes() == before.tobytes()
        assert image.text["parameters"] == read_text_chunks(stored)["parameters"]  # Pillow agrees
    texts = read_text_chunks(stored)
    assert '"note": "ünïcode survives"' in texts["batik"]
    request, source = recall_request(stored)
    assert source == "batik"
    assert request == {
        "text": "kawung nitik",
        "top_k": 3,
        "tile": True,
        "symmetry": "d4",
        "seed": 1234,
    }


def test_parameters_are_in_automatic1111_format():
    text = format_parameters(PROVENANCE, read_header(_png()))
    prompt, negative, settings = text.split("\n")
    assert prompt == "kawung nitik, brown batik, four petals"
    assert negative == "Negative prompt: blurry, text"
    assert settings.startswith(
        "Steps: 25, Sampler: DPM++ 2M, CFG scale: 8.0, Seed: 1234, Size: 40x24, "
        "Denoising strength: 0.6, Model: sd15-tiny"
    )
    assert "Tiling: True" in settings and "Symmetry: d4" in settings


def test_an_offset_repeat_is_recorded_and_recalled_from_the_parameters():
    text = format_parameters({**PROVENANCE, "repeat": "half_drop"}, read_header(_png()))
    assert "Tiling: True, Repeat: half_drop" in text
    recalled = request_from_parameters(parse_parameters(text))
    assert (recalled["tile"], recalled["repeat"]) == (True, "half_drop")
    plain = format_parameters({**PROVENANCE, "repeat": "full"}, read_header(_png()))
    assert "Repeat" not in plain  # the full drop is what `Tiling: True` means elsewhere


def test_embedding_twice_replaces_our_chunks_instead_of_adding_more():
    original = _png()
    once = embed_settings(original, PROVENANCE, read_header(original))
    twice = embed_settings(once, {**PROVENANCE, "seed": 5}, read_header(once))
    assert twice.count(b"tEXtparameters") == 1 and twice.count(b"iTXtbatik") == 1
    assert recall_request(twice)[0]["seed"] == 5


def _a1111_png(parameters: str, *, compressed: bool = False) -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", parameters, zip=compressed)
    return image_bytes(Image.new("RGB", (16, 16)), pnginfo=info)


A1111 = (
    "a batik sarong, (intricate:1.2), kawung\nsecond line of prompt\n"
    "Negative prompt: lowres, watermark\n"
    "Steps: 28, Sampler: Euler a, Schedule type: Karras, CFG scale: 6.5, Seed: 98765, "
    "Size: 512x768, Model hash: 6ce0161689, Model: v1-5-pruned-emaonly, "
    'Denoising strength: 0.45, Lora hashes: "nitik: 1a2b, other: 3c4d", Version: v1.10.1'
)


@pytest.mark.parametrize("compressed", [False, True])
def test_another_tools_parameters_chunk_recalls_a_request(compressed):
    request, source = recall_request(_a1111_png(A1111, compressed=compressed))
    assert source == "parameters"
    assert request == {
        "text": "a batik sarong, (intricate:1.2), kawung\nsecond line of prompt",
        "negative_prompt": "lowres, watermark",
        "steps": 28,
        "guidance_scale": 6.5,
        "seed": 98765,
        "strength": 0.45,
    }


def test_quoted_values_with_commas_stay_whole():
    parsed = parse_parameters(A1111)
    assert parsed["settings"]["Lora hashes"] == "nitik: 1a2b, other: 3c4d"
    assert parsed["settings"]["Model"] == "v1-5-pruned-emaonly"


def test_txt2img_parameters_ask_for_no_init_image_and_out_of_range_values_are_dropped():
    request, _ = recall_request(
        _a1111_png("flowers\nSteps: 500, Sampler: DDIM, CFG scale: 7, Seed: 3, Size: 512x512")
    )
    assert request == {"text": "flowers", "guidance_scale": 7.0, "seed": 3, "init_source": "none"}


def test_prompt_only_parameters_keep_the_prompt():
    request, source = recall_request(_a1111_png("just a prompt"))
    assert (request, source) == ({"text": "just a prompt"}, "parameters")


def test_png_without_settings_is_refused_saying_so():
    with pytest.raises(InvalidInputError, match="no generation settings"):
        recall_request(_png())


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (image_bytes(Image.new("RGB", (8, 8)), "JPEG"), "not a PNG"),
        (_png()[:-20], "truncated|incomplete"),
        (_png()[:30] + b"X" + _png()[31:], "CRC"),
    ],
)
def test_broken_files_are_refused(data, message):
    with pytest.raises(InvalidInputError, match=message):
        read_text_chunks(data)


def test_a_text_chunk_that_inflates_without_bound_is_refused():
    bomb = zlib.compress(b"a" * (8 * 1024 * 1024))
    png = _png()
    kind, payload = b"zTXt", b"parameters\0\0" + bomb
    chunk = len(payload).to_bytes(4, "big") + kind + payload
    chunk += zlib.crc32(kind + payload).to_bytes(4, "big")
    bombed = png[:33] + chunk + png[33:]
    with pytest.raises(InvalidInputError, match="inflates past"):
        read_text_chunks(bombed)
