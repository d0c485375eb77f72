"""Decode and validate uploaded images; encode results as PNG.

Limits are checked in the cheapest order: encoded size, then decoded byte count, then the pixel count the
header declares (before any pixel is decoded, so a 30000x30000 PNG of a few KB costs nothing), then the
decode itself. Whatever the input mode, the result is an RGB image with its EXIF orientation applied.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from services.common.errors import ErrorType, ServiceError

# Our own pixel cap (per service, in settings) is checked right after the header is read and before
# any pixel is decoded; PIL's global guard would fire first with a vaguer message.
Image.MAX_IMAGE_PIXELS = None

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_MAX_PIXELS = 4096 * 4096


@dataclass(frozen=True)
class ImageLimits:
    max_bytes: int = DEFAULT_MAX_BYTES
    max_pixels: int = DEFAULT_MAX_PIXELS


def decode_base64(data: str, *, limits: ImageLimits, field: str = "image") -> bytes:
    """Base64 (optionally a `data:` URL) to bytes, refusing oversize input before decoding it."""
    text = data.strip()
    if text.startswith("data:"):
        _, _, text = text.partition(",")
    if len(text) * 3 // 4 > limits.max_bytes:
        raise ServiceError(
            ErrorType.PAYLOAD_TOO_LARGE,
            f"{field} is larger than the {limits.max_bytes} byte limit",
        )
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ServiceError(ErrorType.VALIDATION, f"{field} is not valid base64") from None
    if not raw:
        raise ServiceError(ErrorType.VALIDATION, f"{field} is empty")
    return raw


def load_image(raw: bytes, *, limits: ImageLimits, field: str = "image") -> Image.Image:
    """Bytes to a validated RGB image, or a 4xx `ServiceError` that says what is wrong."""
    if not raw:
        raise ServiceError(ErrorType.VALIDATION, f"{field} is empty")
    if len(raw) > limits.max_bytes:
        raise ServiceError(
            ErrorType.PAYLOAD_TOO_LARGE,
            f"{field} is {len(raw)} bytes; the limit is {limits.max_bytes}",
        )
    try:
        image = Image.open(io.BytesIO(raw))
    except UnidentifiedImageError:
        raise ServiceError(
            ErrorType.UNSUPPORTED_MEDIA,
            f"{field} is not an image format we can read (send PNG, JPEG or WebP)",
        ) from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ServiceError(
            ErrorType.VALIDATION, f"{field} is corrupt or truncated ({exc.__class__.__name__})"
        ) from None
    width, height = image.size
    if width < 1 or height < 1:
        raise ServiceError(ErrorType.VALIDATION, f"{field} has no pixels")
    if width * height > limits.max_pixels:
        raise ServiceError(
            ErrorType.PAYLOAD_TOO_LARGE,
            f"{field} is {width}x{height} pixels; the limit is {limits.max_pixels} pixels",
        )
    try:
        image.load()
        image = ImageOps.exif_transpose(image) or image
    except (OSError, SyntaxError, ValueError) as exc:
        raise ServiceError(
            ErrorType.VALIDATION, f"{field} is corrupt or truncated ({exc.__class__.__name__})"
        ) from None
    try:
        return to_rgb(image)
    except (OSError, ValueError) as exc:  # a pixel mode PIL cannot convert: the client's 415
        raise ServiceError(
            ErrorType.UNSUPPORTED_MEDIA,
            f"{field} has pixel mode {image.mode}, which cannot be converted to RGB "
            f"({exc.__class__.__name__})",
        ) from None


def to_rgb(image: Image.Image) -> Image.Image:
    """Any PIL mode to RGB; transparency is composited on white, 16-bit depth scaled to 8."""
    if image.mode == "RGB":
        return image
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        # Through "I" first: PIL has no point() for big-endian I;16B (16-bit TIFF).
        image = image.convert("I").point(lambda v: v / 256).convert("L")
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA"):
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(image.convert("RGBA"), mask=image.convert("RGBA").getchannel("A"))
        return background
    return image.convert("RGB")


def decode_image(data: str, *, limits: ImageLimits, field: str = "image") -> Image.Image:
    return load_image(decode_base64(data, limits=limits, field=field), limits=limits, field=field)


def encode_png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def to_base64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def png_base64(image: Image.Image) -> str:
    return to_base64(encode_png(image))


def sha256_hex(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def repeat_preview(png: bytes, times: int = 3) -> bytes:
    """A tile repeated `times` x `times`, as the cloth shows it: seams and symmetry become visible."""
    tile = Image.open(io.BytesIO(png)).convert("RGB")
    width, height = tile.size
    sheet = Image.new("RGB", (width * times, height * times))
    for row in range(times):
        for col in range(times):
            sheet.paste(tile, (col * width, row * height))
    return encode_png(sheet)
