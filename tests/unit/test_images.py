import pytest
from PIL import Image

from services.common.errors import ServiceError
from services.common.images import ImageLimits, decode_base64, decode_image, load_image
from tests.helpers import b64, bad_image_corpus, image_bytes, png_declaring

LIMITS = ImageLimits(max_bytes=2 * 1024 * 1024, max_pixels=2048 * 2048)


@pytest.mark.parametrize(("name", "case"), bad_image_corpus().items())
def test_bad_images_are_refused_with_the_right_type(name, case):
    payload, status, error_type = case
    with pytest.raises(ServiceError) as caught:
        decode_image(payload, limits=LIMITS)
    assert caught.value.type == error_type, name
    assert caught.value.status == status


def test_pixel_bomb_is_refused_before_decoding():
    bomb = png_declaring(30000, 30000)
    assert len(bomb) < 1000
    with pytest.raises(ServiceError) as caught:
        load_image(bomb, limits=LIMITS)
    assert caught.value.type == "payload_too_large"
    assert "30000x30000" in caught.value.message


def test_byte_cap_is_checked_on_the_encoded_size():
    with pytest.raises(ServiceError) as caught:
        decode_base64("A" * (4 * LIMITS.max_bytes), limits=LIMITS)
    assert caught.value.type == "payload_too_large"


def test_data_url_prefix_is_accepted():
    raw = image_bytes(Image.new("RGB", (8, 8), "red"))
    image = decode_image("data:image/png;base64," + b64(raw), limits=LIMITS)
    assert image.getpixel((0, 0)) == (255, 0, 0)


@pytest.mark.parametrize(
    ("image", "fmt", "pixel"),
    [
        (Image.new("RGBA", (8, 8), (0, 0, 0, 0)), "PNG", (255, 255, 255)),  # onto white
        (Image.new("P", (8, 8), 0), "PNG", (0, 0, 0)),
        (Image.new("L", (8, 8), 128), "PNG", (128, 128, 128)),
        (Image.new("I;16", (8, 8), 65535), "PNG", (255, 255, 255)),
        (Image.new("CMYK", (8, 8), (0, 0, 0, 0)), "JPEG", (255, 255, 255)),
    ],
)
def test_every_mode_becomes_rgb(image, fmt, pixel):
    decoded = load_image(image_bytes(image, fmt), limits=LIMITS)
    assert decoded.mode == "RGB"
    assert all(abs(a - b) <= 2 for a, b in zip(decoded.getpixel((4, 4)), pixel, strict=True))


def test_exif_orientation_is_applied():
    wide = Image.new("RGB", (40, 20), "blue")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise when displayed
    decoded = load_image(image_bytes(wide, "JPEG", exif=exif), limits=LIMITS)
    assert decoded.size == (20, 40)


@pytest.mark.parametrize("fmt", ["GIF", "TIFF", "BMP", "ICO"])
def test_formats_the_docs_do_not_name_are_refused(fmt):
    raw = image_bytes(Image.new("RGB", (16, 16), "red"), fmt)
    with pytest.raises(ServiceError) as caught:
        load_image(raw, limits=LIMITS)
    assert caught.value.type == "unsupported_media" and caught.value.status == 415
    assert "PNG, JPEG or WebP" in caught.value.message
