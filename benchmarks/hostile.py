"""Maximal legal uploads, and the peak memory of real service processes (issue 16, finding 1).

A 4096x4096 PNG (the default pixel cap) is a ~100 KB body and a 50-67 MB decode. The peak is the
kernel's VmHWM from /proc/<pid>/status, reset to the current size through /proc/<pid>/clear_refs
before what is measured. Used by `python -m benchmarks.load` (its hostile run) and
tests/reliability/test_memory_budget.py.
"""

from __future__ import annotations

import io
import struct
import zlib
from functools import cache
from pathlib import Path

from PIL import Image, ImageDraw

from services.common.images import to_base64


@cache
def maximal_png() -> bytes:
    """A 4096x4096 RGB PNG (the default pixel cap) of ~100 KB: stripes compress well."""
    image = Image.new("RGB", (4096, 4096), (230, 220, 200))
    draw = ImageDraw.Draw(image)
    for x in range(0, 4096, 64):
        draw.line([(x, 0), (4096 - x, 4096)], fill=(120, 40, 20), width=3)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def distinct_maximal_png(i: int) -> str:
    """The maximal PNG as base64, told apart by a tEXt chunk: no cache can answer for another."""
    png = maximal_png()
    data = b"Comment\x00upload %d" % i
    chunk = struct.pack(">I", len(data)) + b"tEXt" + data
    chunk += struct.pack(">I", zlib.crc32(b"tEXt" + data))
    return to_base64(png[:33] + chunk + png[33:])


def maximal_pngs(count: int) -> list[str]:
    """`count` distinct bodies (`distinct_maximal_png`)."""
    return [distinct_maximal_png(i) for i in range(count)]


def status_kib(pid: int, key: str) -> int:
    """A field of /proc/<pid>/status in KiB (VmRSS, VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(f"{key} not in /proc/{pid}/status")


def reset_peak(pid: int) -> None:
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # VmHWM := VmRSS
