"""A page image as a file that states its physical size: PNG with pHYs, TIFF with its resolution
tags, PDF with a page of the image's size at the dpi (Pillow writes all three)."""

from __future__ import annotations

import io

from PIL import Image

MEDIA_TYPES = {
    "png": "image/png",
    "tiff": "image/tiff",
    "pdf": "application/pdf",
    "svg": "image/svg+xml",
}


def encode_page(page: Image.Image, fmt: str, dpi: int) -> bytes:
    buffer = io.BytesIO()
    if fmt == "png":
        page.save(buffer, format="PNG", dpi=(dpi, dpi), compress_level=6)
    elif fmt == "tiff":
        page.save(buffer, format="TIFF", dpi=(dpi, dpi), compression="tiff_lzw")
    elif fmt == "pdf":
        # Pillow embeds RGB as JPEG: at quality 95 without chroma subsampling, as print shops
        # accept; the page is the image's size at `resolution` dpi (points = px / dpi * 72).
        page.convert("RGB").save(
            buffer, format="PDF", resolution=float(dpi), quality=95, subsampling=0
        )
    else:
        raise ValueError(f"not a raster format: {fmt!r}")
    return buffer.getvalue()
