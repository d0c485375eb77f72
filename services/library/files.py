"""The content-addressed file store: design PNGs and their thumbnails, named by sha256.

    {root}/objects/ab/abcdef...png        a design's PNG (settings chunks inside)
    {root}/thumbs/ab/abcdef...-256.png    its thumbnail, longest side 256 px, made once on first ask

A file is written to a temp name in the same directory, fsynced, renamed over its final name and the
directory fsynced: a reader (or a process killed mid-write) sees the whole file or none. The store writes
a design's file before its row commits, so a crash leaves at worst a file no row names; `sweep` removes
those once they are older than a grace period (a save in flight on another replica is younger).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from PIL import Image

_TEMP_PREFIX = ".tmp-"


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=_TEMP_PREFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    _fsync_dir(path.parent)


class FileStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.objects = self.root / "objects"
        self.thumbs = self.root / "thumbs"
        self.objects.mkdir(parents=True, exist_ok=True)
        self.thumbs.mkdir(parents=True, exist_ok=True)

    def path(self, sha256: str) -> Path:
        return self.objects / sha256[:2] / f"{sha256}.png"

    def thumb_path(self, sha256: str, size: int) -> Path:
        return self.thumbs / sha256[:2] / f"{sha256}-{size}.png"

    def put(self, data: bytes) -> str:
        """Store bytes under their sha256 (rewriting an existing copy is harmless); the name."""
        sha = sha256_hex(data)
        write_atomic(self.path(sha), data)
        return sha

    def has(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def read(self, sha256: str) -> bytes:
        return self.path(sha256).read_bytes()

    def thumbnail(self, sha256: str, size: int) -> Path:
        """The thumbnail's path, made from the original the first time it is asked for."""
        target = self.thumb_path(sha256, size)
        if not target.is_file():
            with Image.open(self.path(sha256)) as image:
                image.thumbnail((size, size), Image.Resampling.LANCZOS)
                out = io.BytesIO()
                image.save(out, format="PNG", optimize=True)
            write_atomic(target, out.getvalue())
        return target

    def remove(self, sha256: str) -> int:
        """Delete a design's file and its thumbnails; the bytes freed."""
        freed = 0
        for path in [self.path(sha256), *self.thumb_path(sha256, 0).parent.glob(f"{sha256}-*.png")]:
            with contextlib.suppress(FileNotFoundError):
                freed += path.stat().st_size
                path.unlink()
        return freed

    def names(self) -> Iterable[tuple[str, Path]]:
        """(sha256, path) of every object and thumbnail, temp files included (their name: '')."""
        for base in (self.objects, self.thumbs):
            for path in base.glob("*/*"):
                name = path.name
                yield ("" if name.startswith(_TEMP_PREFIX) else name[:64]), path

    def sweep(self, is_named: Callable[[set[str]], set[str]], *, grace_s: float) -> int:
        """Remove files no row names (and abandoned temp files) older than `grace_s`; how many.

        `is_named(shas)` answers which of the given names some row still holds."""
        cutoff = time.time() - grace_s
        old = [(sha, path) for sha, path in self.names() if _mtime(path) <= cutoff]
        named = is_named({sha for sha, _ in old if sha})
        removed = 0
        for sha, path in old:
            if sha in named:
                continue
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed += 1
        return removed


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return float("inf")
