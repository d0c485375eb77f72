"""`response_format: url`: an answer's images as signed URLs instead of inline base64.

Answers are made, cached and kept in job records with their images as base64 (so a cache hit or a
job serves either format); this module converts one on its way out. Each image's URL points where
the image already lives, so nothing is copied when it can be avoided:

- an image saved as a design: the design's PNG in the library (`/v1/signed/designs/{id}/image`,
  read as the design's owner, named in the signed URL);
- an image of a job, not saved (and every preview): the job record in Redis
  (`/v1/signed/jobs/{id}/images/{n}`, `/v1/signed/jobs/{id}/previews/{n}`);
- an image of a synchronous answer, not saved: the PNG is put in the answer cache under its sha256
  (`/v1/signed/images/{sha256}`); like every cached thing it may be evicted before the URL expires.

The routes that serve these URLs are gateway/signed_api.py.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Literal

from gateway.cache import ResponseCache
from gateway.signed_urls import UrlSigner
from services.common.contracts.gateway import RagResponse

SIGNED_PREFIX = "/v1/signed"
IMAGE_KEY_PREFIX = "image:v1:"  # inside the answer cache's own key space
JobImageKind = Literal["images", "previews"]


def design_image_path(design_id: str) -> str:
    return f"{SIGNED_PREFIX}/designs/{design_id}/image"


def job_image_path(job_id: str, kind: JobImageKind, n: int) -> str:
    return f"{SIGNED_PREFIX}/jobs/{job_id}/{kind}/{n}"


def cached_image_path(sha256: str) -> str:
    return f"{SIGNED_PREFIX}/images/{sha256}"


class ImageUrls:
    """Signs the URLs of an answer's images; keeps the unsaved images of synchronous answers."""

    def __init__(self, signer: UrlSigner, cache: ResponseCache, public_url: str | None) -> None:
        self.signer = signer
        self.cache = cache
        self.public_url = public_url.rstrip("/") if public_url else None

    async def as_urls(
        self, answer: RagResponse, *, base_url: str, owner: str, job_id: str | None = None
    ) -> RagResponse:
        """`answer` with `images` and `previews` empty and their signed URLs listed instead.

        `owner`: whose designs the answer's `designs` are; `job_id`: the job whose record holds the
        images (None for a synchronous answer)."""
        base = self.public_url or base_url.rstrip("/")

        async def url_of(image_b64: str, kind: JobImageKind, n: int) -> str:
            if kind == "images" and n < len(answer.designs):
                path = design_image_path(answer.designs[n].id)
                return base + self.signer.sign(path, {"owner": owner})
            if job_id is not None:
                return base + self.signer.sign(job_image_path(job_id, kind, n))
            sha256 = hashlib.sha256(base64.b64decode(image_b64)).hexdigest()
            await self.cache.set(IMAGE_KEY_PREFIX + sha256, {"png": image_b64})
            return base + self.signer.sign(cached_image_path(sha256))

        image_urls = [await url_of(image, "images", n) for n, image in enumerate(answer.images)]
        preview_urls = [
            await url_of(image, "previews", n) for n, image in enumerate(answer.previews)
        ]
        return answer.model_copy(
            update={
                "images": [],
                "previews": [],
                "image_urls": image_urls,
                "preview_urls": preview_urls,
            }
        )

    async def cached_png(self, sha256: str) -> bytes | None:
        entry = await self.cache.get(IMAGE_KEY_PREFIX + sha256)
        return base64.b64decode(entry["png"]) if entry else None
