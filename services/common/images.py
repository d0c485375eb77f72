"""Decode and validate uploaded images; encode results as PNG.

Limits are checked in the cheapest order: encoded size, then the format from the first bytes (PNG,
JPEG or WebP; anything else is a 415 before any Pillow decoder runs: the ICO plugin, for one, decodes
the image it wraps inside `Image.open()`), then the pixel count the header declares (before any pixel
is decoded, so a 30000x30000 PNG of a few KB costs nothing), then, for a batch, the pixels of the
whole request, then the decode itself. The decode takes its pixels from the process's decode budget
and reduces the image while decoding (JPEG draft mode: 1/2, 1/4 or 1/8 scale straight from the DCT;
then `reduce`) to the side the model needs, so the full-size buffer lives only as long as the decode.
Whatever the input mode, the result is an RGB image with its EXIF orientation applied.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial

import anyio.to_thread
from PIL import Image, ImageOps, UnidentifiedImageError

from services.common.concurrency import PixelBudget, hold_pixels
from services.common.errors import ErrorType, ServiceError
from services.common.memory import return_free_memory

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_MAX_PIXELS = 4096 * 4096
# The largest per-image cap any caller may set (ingest's). Pillow's own decompression-bomb guard
# stays on for the whole process at this value, for every Image.open (training data, thumbnails):
# it warns past it and refuses past twice it. Our per-service cap is checked first and is lower.
HARD_MAX_PIXELS = 8192 * 8192
Image.MAX_IMAGE_PIXELS = HARD_MAX_PIXELS

# Pillow format name -> the file signature that names it. Each format here has its size in a
# header we read before decoding; adding one means adding its header-level size check.
ACCEPTED_FORMATS = ("PNG", "JPEG", "WEBP")
_ACCEPTED = "send PNG, JPEG or WebP"


@dataclass(frozen=True)
class ImageLimits:
    max_bytes: int = DEFAULT_MAX_BYTES
    max_pixels: int = DEFAULT_MAX_PIXELS
    # Pixels all images of one request may declare together (a batch of maximal images).
    max_request_pixels: int = 4 * DEFAULT_MAX_PIXELS
    # Longest side the decoded copy keeps (None: full size); larger images are reduced while
    # decoding. The models take 224-1024 px, so nothing they see is lost.
    max_side: int | None = None
    # This process's decode budget (None: unbounded, for offline tools such as ingest).
    budget: PixelBudget | None = field(default=None, compare=False)


_DATA_URL = re.compile(r"^data:[^,]*$", re.IGNORECASE)


def decode_base64(data: str, *, limits: ImageLimits, field: str = "image") -> bytes:
    """Base64 (optionally a `data:` URL) to bytes, refusing oversize input before decoding it."""
    text = data.strip()
    if text[:5].lower() == "data:":
        header, comma, text = text.partition(",")
        if not comma:
            raise ServiceError(
                ErrorType.VALIDATION,
                f"{field} is a data URL without a comma: expected 'data:image/png;base64,<data>'",
            )
        if not header.lower().endswith(";base64"):
            raise ServiceError(
                ErrorType.VALIDATION, f"{field} is a data URL that is not base64 (';base64,')"
            )
    # Wrapped base64 (GNU base64, Python's encodebytes: 76 columns) is still base64.
    text = "".join(text.split())
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


def sniff_format(raw: bytes, field: str = "image") -> str:
    """The Pillow format name from the file signature, or a 415 for anything we do not accept."""
    if raw.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if raw.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if raw[:4] == b"RIFF" and raw[8:12] == b"WEBP":
        return "WEBP"
    raise ServiceError(
        ErrorType.UNSUPPORTED_MEDIA, f"{field} is not an image format we accept ({_ACCEPTED})"
    )


def _declared_size(fmt: str, raw: bytes) -> tuple[int, int] | None:
    """Width and height from the header bytes alone, for the formats whose Pillow plugin would
    allocate before we could check (WebP allocates its canvas in `Image.open`). JPEG's size is in a
    SOF marker Pillow finds without decoding, so it is read by `Image.open`."""
    if fmt == "PNG" and raw[12:16] == b"IHDR" and len(raw) >= 24:
        return struct.unpack(">II", raw[16:24])
    if fmt == "WEBP" and len(raw) >= 30:
        chunk = raw[12:16]
        if chunk == b"VP8X":
            return 1 + int.from_bytes(raw[24:27], "little"), 1 + int.from_bytes(
                raw[27:30], "little"
            )
        if chunk == b"VP8L" and raw[20] == 0x2F:
            bits = int.from_bytes(raw[21:25], "little")
            return 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
        if chunk == b"VP8 ":
            width, height = struct.unpack("<HH", raw[26:30])
            return width & 0x3FFF, height & 0x3FFF
    return None


def _check_pixels(width: int, height: int, limits: ImageLimits, field: str) -> None:
    if width < 1 or height < 1:
        raise ServiceError(ErrorType.VALIDATION, f"{field} has no pixels")
    if width * height > limits.max_pixels:
        raise ServiceError(
            ErrorType.PAYLOAD_TOO_LARGE,
            f"{field} is {width}x{height} pixels; the limit is {limits.max_pixels} pixels",
        )


def _corrupt(field: str, exc: BaseException) -> ServiceError:
    return ServiceError(
        ErrorType.VALIDATION, f"{field} is corrupt or truncated ({exc.__class__.__name__})"
    )


def _open(raw: bytes, fmt: str, field: str) -> Image.Image:
    try:
        # formats=[fmt]: only the plugin the signature names may parse the bytes.
        return Image.open(io.BytesIO(raw), formats=[fmt])
    except Image.DecompressionBombError:
        raise ServiceError(
            ErrorType.PAYLOAD_TOO_LARGE, f"{field} declares more pixels than we decode"
        ) from None
    except UnidentifiedImageError:
        raise ServiceError(ErrorType.VALIDATION, f"{field} is not a valid {fmt} file") from None
    except (OSError, SyntaxError, ValueError, struct.error) as exc:
        raise _corrupt(field, exc) from None


def read_size(raw: bytes, *, limits: ImageLimits, field: str = "image") -> tuple[str, int, int]:
    """Format, width and height from the header, checked against the byte and pixel caps; no
    pixel is decoded and (for WebP) no canvas allocated."""
    if not raw:
        raise ServiceError(ErrorType.VALIDATION, f"{field} is empty")
    if len(raw) > limits.max_bytes:
        raise ServiceError(
            ErrorType.PAYLOAD_TOO_LARGE,
            f"{field} is {len(raw)} bytes; the limit is {limits.max_bytes}",
        )
    fmt = sniff_format(raw, field)
    declared = _declared_size(fmt, raw)
    if declared is None:  # JPEG: Pillow reads the markers up to the frame header, nothing more
        declared = _open(raw, fmt, field).size
    _check_pixels(*declared, limits, field)
    return fmt, *declared


def check_request_pixels(
    sizes: Sequence[tuple[int, int]], *, limits: ImageLimits, field: str = "images"
) -> None:
    """Refuse a request whose images together declare more pixels than one request may decode."""
    total = sum(width * height for width, height in sizes)
    if total > limits.max_request_pixels:
        raise ServiceError(
            ErrorType.PAYLOAD_TOO_LARGE,
            f"{field} declare {total} pixels together; one request may decode at most "
            f"{limits.max_request_pixels}",
        )


def _fitted(size: tuple[int, int], max_side: int) -> tuple[int, int]:
    """`size` scaled to a longer side of `max_side`, aspect kept."""
    scale = max_side / max(size)
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


_REDUCIBLE_MODES = {"L", "LA", "RGB", "RGBA", "CMYK", "I", "F"}


def _reduced(image: Image.Image, max_side: int | None) -> Image.Image:
    """The decoded image reduced by a whole factor (cheap box averaging) to at most twice
    `max_side`, then resampled to `max_side`; the full-size buffer is freed with the caller's
    last reference to it."""
    if max_side is None or max(image.size) <= max_side:
        return image
    if image.mode not in _REDUCIBLE_MODES:  # palette, 1-bit, 16-bit: reduce has no kernel for them
        image = to_rgb(image)
    factor = max(image.size) // (2 * max_side)
    if factor >= 2:
        image = image.reduce(factor)
    if max(image.size) > max_side:
        image = image.resize(_fitted(image.size, max_side), Image.Resampling.LANCZOS)
    return image


def load_image(raw: bytes, *, limits: ImageLimits, field: str = "image") -> Image.Image:
    """Bytes to a validated RGB image, or a 4xx `ServiceError` that says what is wrong. The decode
    holds its pixels of the process's budget until the reduced copy exists."""
    fmt, width, height = read_size(raw, limits=limits, field=field)
    try:
        with hold_pixels(limits.budget, width * height):
            return _decode(raw, fmt, limits, field)
    finally:
        return_free_memory(width * height)  # the full-size buffers are gone: give them back


def _decode(raw: bytes, fmt: str, limits: ImageLimits, field: str) -> Image.Image:
    """Open and decode within the budget the caller holds; the full-size image dies here."""
    image = _open(raw, fmt, field)
    _check_pixels(*image.size, limits, field)
    try:
        if limits.max_side is not None and fmt == "JPEG":
            # Scale while decoding: the DCT gives 1/2, 1/4 or 1/8 size at no extra cost.
            image.draft("RGB", _fitted(image.size, limits.max_side))
        image.load()
        image = _reduced(image, limits.max_side)
        image = ImageOps.exif_transpose(image) or image
    except (OSError, SyntaxError, ValueError) as exc:
        raise _corrupt(field, exc) from None
    try:
        return to_rgb(image)
    except (OSError, ValueError) as exc:  # a pixel mode PIL cannot convert: the client's 415
        raise ServiceError(
            ErrorType.UNSUPPORTED_MEDIA,
            f"{field} has pixel mode {image.mode}, which cannot be converted to RGB "
            f"({exc.__class__.__name__})",
        ) from None


async def load_image_off_loop(
    raw: bytes, *, limits: ImageLimits, field: str = "image"
) -> Image.Image:
    """`load_image` in a worker thread, for async handlers: decoding a 4096x4096 upload takes
    tenths of a second that the event loop (and every other request, `/healthz` included) must
    not wait."""
    return await anyio.to_thread.run_sync(partial(load_image, raw, limits=limits, field=field))


def decode_images(
    payloads: Sequence[str], *, limits: ImageLimits, fields: Sequence[str]
) -> list[Image.Image]:
    """The base64 images of one request: every header and the request's pixel total are checked
    before the first pixel is decoded."""
    raws = [
        decode_base64(data, limits=limits, field=name)
        for data, name in zip(payloads, fields, strict=True)
    ]
    sizes = [
        read_size(raw, limits=limits, field=name)[1:]
        for raw, name in zip(raws, fields, strict=True)
    ]
    check_request_pixels(sizes, limits=limits)
    return [
        load_image(raw, limits=limits, field=name) for raw, name in zip(raws, fields, strict=True)
    ]


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


def repeat_preview(png: bytes, repeat: str = "full", times: int = 3) -> bytes:
    """`times` x `times` tiles laid out in `repeat` (services/common/repeats.py), as the cloth shows
    it: seams and symmetry become visible."""
    import numpy as np

    from services.common.repeats import repeat_canvas

    tile = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    height, width = tile.shape[:2]
    sheet = repeat_canvas(tile, repeat, height * times, width * times)
    return encode_png(Image.fromarray(sheet))
