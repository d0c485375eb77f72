"""The bad-input corpus, made in code (nothing downloaded): what clients really upload.

Each case is the raw file plus what every image-taking endpoint must do with it: accept it (decoded to
RGB, EXIF rotation applied) or refuse it with one 4xx type. `expected_rgb` is the image the service
should end up with, for the cases where an oracle (CLIP embeddings) can check the conversion.
"""

from __future__ import annotations

import base64
import io
import struct
import zlib
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageOps

from tests.helpers import ico_wrapping_png, png_declaring

ACCEPTED = 200


@dataclass(frozen=True)
class Case:
    name: str
    raw: bytes | None  # None: the payload below is sent as it is (not a file)
    status: int
    error_type: str | None = None
    payload: str | None = None  # the base64 field, when it is not simply b64(raw)
    expected_rgb: Image.Image | None = None

    @property
    def b64(self) -> str:
        if self.payload is not None:
            return self.payload
        return base64.b64encode(self.raw or b"").decode()


def _save(image: Image.Image, fmt: str, **args) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **args)
    return buffer.getvalue()


def asymmetric(size: tuple[int, int] = (64, 40)) -> Image.Image:
    """Left-right and top-bottom asymmetric, so a missed rotation changes what a model sees."""
    image = Image.new("RGB", size, (230, 220, 200))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, size[0] // 3, size[1] - 1), fill=(120, 40, 10))
    draw.ellipse((size[0] // 2, 2, size[0] - 4, size[1] // 2), fill=(20, 60, 140))
    return image


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_rgb16(width: int = 32, height: int = 24) -> bytes:
    """A 48-bit (16 bits per channel) RGB PNG, written by hand: PIL cannot save one."""
    rows = b"".join(
        b"\x00" + b"".join(struct.pack(">HHH", x * 2000, y * 2500, 40000) for x in range(width))
        for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(rows))
        + _png_chunk(b"IEND", b"")
    )


def exif_rotated_jpeg() -> tuple[bytes, Image.Image]:
    """A JPEG stored sideways with EXIF orientation 6 (rotate 90 CW to view), and how it should look."""
    stored = asymmetric()
    exif = Image.Exif()
    exif[0x0112] = 6
    raw = _save(stored, "JPEG", quality=95, exif=exif)
    expected = ImageOps.exif_transpose(Image.open(io.BytesIO(raw))).convert("RGB")
    return raw, expected


def animated_gif() -> bytes:
    frames = [asymmetric(), asymmetric().transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
    return _save(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)


def corpus(max_upload_bytes: int) -> list[Case]:
    """Every case; `max_upload_bytes` is the services' image cap (one case is just over it)."""
    base = asymmetric()
    jpeg = _save(base, "JPEG", quality=90)
    rotated_raw, rotated_expected = exif_rotated_jpeg()
    palette = base.convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    palette.info["transparency"] = 0
    rgba = base.convert("RGBA")
    rgba.putalpha(128)
    # Incompressible bytes behind a valid PNG signature: over the cap in bytes, whatever it is.
    over_cap = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * (max_upload_bytes // 256 + 8)
    return [
        Case("zero bytes", b"", 422, "validation"),
        Case("truncated jpeg", jpeg[: len(jpeg) // 2], 422, "validation"),
        Case("text file", b"No.,Motif\n1,Sekar Kemuning\n", 415, "unsupported_media"),
        Case("30000x30000 declared png", png_declaring(30000, 30000), 413, "payload_too_large"),
        Case("image over the byte cap", over_cap, 413, "payload_too_large"),
        Case("invalid base64", None, 422, "validation", payload="this is *not* base64!!"),
        Case(
            "data url",
            None,
            ACCEPTED,
            payload="data:image/jpeg;base64," + base64.b64encode(jpeg).decode(),
        ),
        Case("16-bit gray png", _save(Image.new("I;16", (32, 24), 40000), "PNG"), ACCEPTED),
        Case("16-bit rgb png", png_rgb16(), ACCEPTED),
        # Only the formats the docs name (PNG, JPEG, WebP): others are 415 before any decoder runs.
        Case(
            "16-bit big-endian tiff",
            _save(Image.new("I;16B", (32, 24), 40000), "TIFF"),
            415,
            "unsupported_media",
        ),
        Case("ico wrapping a 6000x6000 png", ico_wrapping_png(6000), 415, "unsupported_media"),
        Case("cmyk jpeg", _save(base.convert("CMYK"), "JPEG"), ACCEPTED),
        Case("rgba png", _save(rgba, "PNG"), ACCEPTED),
        Case("palette png with transparency", _save(palette, "PNG"), ACCEPTED),
        Case("grayscale jpeg", _save(base.convert("L"), "JPEG"), ACCEPTED),
        Case("1-bit png", _save(base.convert("1"), "PNG"), ACCEPTED),
        Case("animated gif", animated_gif(), 415, "unsupported_media"),
        Case("webp", _save(base, "WEBP", lossless=True), ACCEPTED, expected_rgb=base),
        Case("exif-rotated jpeg", rotated_raw, ACCEPTED, expected_rgb=rotated_expected),
    ]
