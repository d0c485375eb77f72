from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from services.common.contracts.gateway import RagRequest, RagResponse
from services.common.errors import ErrorType, error_responses
from services.common.health import require_ready
from services.common.images import decode_base64, load_image, sha256_hex

router = APIRouter(prefix="/v1", tags=["rag"])


@router.post(
    "/rag",
    response_model=RagResponse,
    summary="Retrieve, caption, fuse and generate: the whole Batik Nitik RAG flow",
    responses=error_responses(
        ErrorType.PAYLOAD_TOO_LARGE,
        ErrorType.UNSUPPORTED_MEDIA,
        ErrorType.OVERLOADED,
        ErrorType.NOT_READY,
        ErrorType.UPSTREAM,
        ErrorType.UPSTREAM_TIMEOUT,
    ),
)
async def rag(body: RagRequest, request: Request, gateway=Depends(require_ready)) -> RagResponse:
    image_sha256 = None
    if body.image is not None:
        # Validated here, not upstream: a bad upload is the client's 4xx before any model runs.
        limits = request.app.state.settings.image_limits
        raw = decode_base64(body.image, limits=limits)
        load_image(raw, limits=limits)
        image_sha256 = sha256_hex(raw)
    return await gateway.limited(gateway.orchestrator.run(body, image_sha256))
