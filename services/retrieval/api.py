from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse

from services.common.contracts.retrieval import SearchRequest, SearchResponse
from services.common.errors import ErrorType, ServiceError, error_responses
from services.common.health import require_ready
from services.common.images import decode_image
from services.retrieval.engine import RetrievalEngine
from services.retrieval.index import IMAGE_SIZES

router = APIRouter(prefix="/v1", tags=["retrieval"])


@router.post(
    "/search",
    response_model=SearchResponse,
    summary="Nearest motifs to a text, an image, or both",
    responses=error_responses(
        ErrorType.PAYLOAD_TOO_LARGE,
        ErrorType.UNSUPPORTED_MEDIA,
        ErrorType.OVERLOADED,
        ErrorType.NOT_READY,
    ),
)
async def search(
    body: SearchRequest, request: Request, engine: RetrievalEngine = Depends(require_ready)
) -> SearchResponse:
    limits = request.app.state.settings.image_limits
    image = decode_image(body.image, limits=limits) if body.image is not None else None
    return await request.app.state.limiter.run(
        engine.search, body.text, image, body.top_k, body.text_weight
    )


@router.get(
    "/images/{item_id}",
    summary="A stored motif image (JPEG)",
    response_class=FileResponse,
    responses={
        200: {"content": {"image/jpeg": {}}, "description": "The image"},
        **error_responses(ErrorType.NOT_FOUND, ErrorType.NOT_READY),
    },
)
def get_image(
    item_id: int,
    size: int = Query(512, description="224 (CLIP input) or 512 (SD input)"),
    engine: RetrievalEngine = Depends(require_ready),
) -> FileResponse:
    if size not in IMAGE_SIZES:
        raise ServiceError(ErrorType.VALIDATION, f"size must be one of {list(IMAGE_SIZES)}")
    path = engine.index.image_file(item_id, size)
    if path is None or not path.is_file():
        raise ServiceError(ErrorType.NOT_FOUND, f"no image with id {item_id} in this index")
    return FileResponse(path, media_type="image/jpeg")
