"""Give freed heap memory back to the operating system.

glibc keeps what a thread's arena freed for reuse, so a burst of large decodes (a 4096x4096 image is
50-67 MB of buffers, in every worker thread's arena) leaves the process hundreds of MB larger for good.
`malloc_trim(0)` returns the free pages of every arena; it costs about a millisecond, so it runs only
after decodes large enough to matter. On other C libraries it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import cache

# Decodes at least this large (pixels) are followed by a trim.
TRIM_AFTER_PIXELS = 2048 * 2048


@cache
def _malloc_trim():
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    return getattr(libc, "malloc_trim", None)


def return_free_memory(pixels: int) -> None:
    """After a decode of `pixels`: hand the freed buffers back to the OS when it was a large one."""
    if pixels < TRIM_AFTER_PIXELS:
        return
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
