"""Issue 16, finding 4: formats are told by their first bytes and refused before any Pillow decoder
runs, and Pillow's decompression-bomb guard stays on."""

from __future__ import annotations

import pytest
from PIL import Image, ImageFile

from services.common.errors import ServiceError
from services.common.images import ImageLimits, decode_base64, load_image
from tests.helpers import b64, ico_wrapping_png, image_bytes

LIMITS = ImageLimits(max_bytes=2 * 1024 * 1024, max_pixels=2048 * 2048)


@pytest.fixture
def decodes(monkeypatch) -> list[str]:
    """Every Pillow decoder that is created and every `load()` call, by name."""
    seen: list[str] = []
    real_getdecoder, real_load = Image._getdecoder, ImageFile.ImageFile.load

    def getdecoder(mode, decoder_name, *args, **kwargs):
        seen.append(decoder_name)
        return real_getdecoder(mode, decoder_name, *args, **kwargs)

    def load(self):
        seen.append(f"load:{self.format}")
        return real_load(self)

    monkeypatch.setattr(Image, "_getdecoder", getdecoder)
    monkeypatch.setattr(ImageFile.ImageFile, "load", load)
    return seen


def test_ico_wrapping_a_large_png_is_refused_before_any_decoder_runs(decodes):
    ico = ico_wrapping_png(6000)
    assert len(ico) < LIMITS.max_bytes  # legal by bytes; 36 Mpx inside
    with pytest.raises(ServiceError) as caught:
        load_image(ico, limits=LIMITS)
    assert caught.value.status == 415 and caught.value.type == "unsupported_media"
    assert decodes == []  # Pillow's ICO plugin never saw the bytes


def test_pillow_guard_stays_on_for_every_image_open():
    assert Image.MAX_IMAGE_PIXELS is not None
    assert LIMITS.max_pixels <= Image.MAX_IMAGE_PIXELS


def test_webp_declaring_a_huge_canvas_is_refused_from_its_header(decodes):
    webp = bytearray(image_bytes(Image.new("RGB", (16, 16), "red"), "WEBP", lossless=True))
    assert webp[12:16] == b"VP8L"
    bits = (16000 - 1) | ((16000 - 1) << 14)  # 16000x16000 declared
    webp[21:25] = (bits | (webp[24] & 0xF0) << 24).to_bytes(4, "little")
    with pytest.raises(ServiceError) as caught:
        load_image(bytes(webp), limits=LIMITS)
    assert caught.value.status == 413 and "16000x16000" in caught.value.message
    assert decodes == []


def test_a_png_named_jpeg_inside_is_only_parsed_as_png():
    raw = image_bytes(Image.new("RGB", (8, 8), "blue"), "PNG")
    assert load_image(raw, limits=LIMITS).getpixel((0, 0)) == (0, 0, 255)
    with pytest.raises(ServiceError) as caught:
        load_image(raw[:8] + b"garbage" * 10, limits=LIMITS)
    assert caught.value.status == 422


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_accepted_formats_decode(fmt):
    raw = image_bytes(Image.new("RGB", (24, 16), (0, 128, 255)), fmt)
    image = load_image(raw, limits=LIMITS)
    assert image.size == (24, 16) and image.mode == "RGB"


def test_wrapped_base64_and_upper_case_data_prefix_are_accepted():
    raw = image_bytes(Image.new("RGB", (64, 64), "red"), "PNG")
    import base64

    wrapped = base64.encodebytes(raw).decode()  # 76 columns, newlines
    assert "\n" in wrapped.strip()
    assert decode_base64(wrapped, limits=LIMITS) == raw
    assert decode_base64("DATA:image/png;BASE64," + b64(raw), limits=LIMITS) == raw


def test_data_url_without_a_comma_says_so():
    with pytest.raises(ServiceError) as caught:
        decode_base64("data:image/png;base64" + b64(b"abc"), limits=LIMITS)
    assert caught.value.status == 422 and "without a comma" in caught.value.message
