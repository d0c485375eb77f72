"""Cache headers for index images, shared by retrieval and the gateway.

Row ids belong to one index version: after a reload the same id may name another photo. So the ETag
names the version, and a URL that pins the version (`?index_version=`, answered 404 once that
version is gone) may be kept for long, while one that does not must be revalidated every time.
"""

from __future__ import annotations

PINNED = "private, max-age=86400, immutable"
UNPINNED = "private, no-cache"


def cache_control(index_version: str | None) -> str:
    return PINNED if index_version is not None else UNPINNED


def image_etag(version: str, size: int, item_id: int) -> str:
    return f'"{version}-{size}-{item_id}"'


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    candidates = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in candidates or etag in candidates
