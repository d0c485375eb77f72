"""The routes behind signed image URLs (`response_format: url`, gateway/image_urls.py).

No API key and no rate limit: the signature is the permission, for one image until its expiry
(gateway/signed_urls.py; tampered or expired: 403). A design's image is read from the library as
the owner the URL names; a job's from its record in Redis; a synchronous answer's from the cache.
"""

from __future__ import annotations

import base64
import binascii
import time

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from gateway.api import ReadyGateway
from gateway.composition import Gateway
from gateway.image_urls import SIGNED_PREFIX, JobImageKind
from gateway.jobs import RagJobStore
from gateway.library_api import _checked, _library, _relay
from gateway.security import Caller
from services.common.contracts.library import DESIGN_ID
from services.common.errors import ErrorType, NotFoundError, error_responses
from services.common.jobs import JOB_ID, job_store_available
from services.common.jobs_http import queue_getter


def signature_params(
    exp: int = Query(ge=0, description="When the URL expires (unix time); it is signed."),
    # The pattern is declared, not enforced here: a signature of any other shape is a tampered one,
    # which `_verified` answers 403 like a wrong signature of the right shape (not 422).
    sig: str = Query(
        description="HMAC-SHA256 of the path, parameters and `exp`.",
        json_schema_extra={"pattern": r"^[0-9a-f]{64}$"},
    ),
) -> None:
    """Declares the signature's parameters (OpenAPI); `_verified` checks them with the path."""


router = APIRouter(prefix=SIGNED_PREFIX, tags=["images"], dependencies=[Depends(signature_params)])
# OpenAPI: these operations need no API key (the URL's signature is the permission).
_OPEN = {"security": []}
_PNG = {200: {"content": {"image/png": {}}, "description": "The PNG"}}
_ERRORS = error_responses(ErrorType.FORBIDDEN, ErrorType.NOT_FOUND, ErrorType.NOT_READY)
_queue = queue_getter(what="Job images", setting="GATEWAY_REDIS_URL", sync_route="POST /v1/rag")


def _verified(request: Request, gateway: Gateway) -> dict[str, str]:
    return gateway.image_urls.signer.verify(request.url.path, dict(request.query_params))


def _png(raw: bytes, request: Request) -> Response:
    """The image, cacheable by the browser until its URL expires."""
    seconds_left = max(0, int(request.query_params["exp"]) - int(time.time()))
    headers = {"Cache-Control": f"private, max-age={seconds_left}"}
    return Response(raw, media_type="image/png", headers=headers)


@router.get(
    "/designs/{design_id}/image",
    response_class=Response,
    operation_id="getSignedDesignImage",
    summary="A saved design's PNG by signed URL (no API key)",
    description="The URL an answer with `response_format: url` lists for an image saved as a "
    "design: read as the owner it names, until `exp`. Tampered or expired: 403.",
    responses={**_PNG, **_ERRORS},
    openapi_extra=_OPEN,
)
async def signed_design_image(
    request: Request,
    gateway: ReadyGateway,
    design_id: str = Path(pattern=r"^d_[0-9a-f]{20}$", description="The design."),
    owner: str = Query(
        pattern=r"^([0-9a-f]{16}|anonymous)$", description="The design's owner id; it is signed."
    ),
) -> Response:
    _verified(request, gateway)
    owner_of = Caller(client="signed-url", owner=owner)
    _checked(DESIGN_ID, design_id, "design")
    library = _library(gateway)
    if gateway.saver is not None:  # still in the outbox: saved first, so the URL works at once
        await gateway.saver.settle(design_id, owner_of)
    return _relay(await library.call("GET", f"/v1/designs/{design_id}/image", owner_of))


_JOB_ERRORS = {**_PNG, **_ERRORS, **error_responses(ErrorType.NO_JOB_STORE)}
JobId = Path(pattern=r"^[0-9a-f]{32}$", description="The job.")
Place = Path(ge=0, le=64, description="The image's place in the answer, from 0.")


@router.get(
    "/jobs/{job_id}/images/{n}",
    response_class=Response,
    operation_id="getJobImage",
    summary="An image of a job's answer by signed URL (no API key)",
    description="Image `n` of the answer kept in the job's record, as PNG, until `exp`. "
    "Tampered or expired: 403.",
    responses=_JOB_ERRORS,
    openapi_extra=_OPEN,
)
async def signed_job_image(
    request: Request, gateway: ReadyGateway, job_id: str = JobId, n: int = Place
) -> Response:
    return await _job_png(request, gateway, job_id, "images", n)


@router.get(
    "/jobs/{job_id}/previews/{n}",
    response_class=Response,
    operation_id="getJobPreview",
    summary="A 3x3 preview of a job's answer by signed URL (no API key)",
    description="Preview `n` (the image repeated 3x3) of the answer kept in the job's record, as "
    "PNG, until `exp`. Tampered or expired: 403.",
    responses=_JOB_ERRORS,
    openapi_extra=_OPEN,
)
async def signed_job_preview(
    request: Request, gateway: ReadyGateway, job_id: str = JobId, n: int = Place
) -> Response:
    return await _job_png(request, gateway, job_id, "previews", n)


async def _job_png(
    request: Request, gateway: Gateway, job_id: str, kind: JobImageKind, n: int
) -> Response:
    """Image `n` of the answer in the job's record (its base64 decoded)."""
    _verified(request, gateway)
    store: RagJobStore = _queue(request).store  # type: ignore[assignment]
    async with job_store_available():
        record = await store.get(job_id) if JOB_ID.fullmatch(job_id) else None
    images = ((record.result or {}).get(kind) or []) if record else []
    if n >= len(images):
        raise NotFoundError(f"job {job_id} has no {kind[:-1]} {n} (expired, or never made)")
    return _png(_decoded(images[n]), request)


@router.get(
    "/images/{sha256}",
    response_class=Response,
    operation_id="getSignedImage",
    summary="An image of a synchronous answer by signed URL (no API key)",
    description="An unsaved image (or preview) of a synchronous answer, kept in the answer cache "
    "under its sha256 until `exp` (or until evicted: 404). Tampered or expired: 403.",
    responses={**_PNG, **_ERRORS},
    openapi_extra=_OPEN,
)
async def signed_image(
    request: Request,
    gateway: ReadyGateway,
    sha256: str = Path(pattern=r"^[0-9a-f]{64}$", description="The PNG's sha256."),
) -> Response:
    _verified(request, gateway)
    raw = await gateway.image_urls.cached_png(sha256)
    if raw is None:
        raise NotFoundError("this image is no longer kept (evicted from the cache): ask again")
    return _png(raw, request)


def _decoded(image_b64: str) -> bytes:
    try:
        return base64.b64decode(image_b64, validate=True)
    except binascii.Error as exc:  # our own record: a bug, not the caller's
        raise RuntimeError("a job record holds an image that is not base64") from exc
