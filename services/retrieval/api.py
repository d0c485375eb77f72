from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from fastapi.responses import FileResponse

from services.common.contracts.retrieval import (
    MAX_EMBED_ITEMS,
    EmbedRequest,
    EmbedResponse,
    SearchRequest,
    SearchResponse,
)
from services.common.errors import ErrorType, ServiceError, error_responses
from services.common.health import require_ready
from services.common.http_cache import cache_control, etag_matches, image_etag
from services.common.images import ImageLimits, decode_image, decode_images
from services.retrieval.engine import RetrievalEngine
from services.retrieval.index import IMAGE_SIZES

router = APIRouter(prefix="/v1", tags=["retrieval"])
# The loaded engine, or 503 not_ready while it loads: every model route takes it.
ReadyEngine = Annotated[RetrievalEngine, Depends(require_ready)]


# Image ids are only stable within one index version, and a reload can change them: clients may
# reuse an image for a minute, then revalidate with the ETag (a 304 costs no image bytes).
def _search(engine: RetrievalEngine, body: SearchRequest, limits: ImageLimits) -> SearchResponse:
    # Decoding runs here, in the worker thread: a large upload must not stall the event loop.
    image = decode_image(body.image, limits=limits) if body.image is not None else None
    # The engine's argument checks (unknown motif numbers, ...) raise ValueError: errors.py's 422.
    return engine.searcher.search(
        body.text,
        image,
        body.top_k,
        body.text_weight,
        dedupe=body.dedupe,
        motifs=body.motifs,
        nprobe=body.nprobe,
        ef_search=body.ef_search,
        lexical_weight=body.lexical_weight,
    )


@router.post(
    "/search",
    operation_id="search",
    response_model=SearchResponse,
    summary="Nearest motifs to a text, an image, or both",
    description="With both `text` and `image`, the query vector is the normalised weighted sum of "
    "their CLIP embeddings (`text_weight`). Queries with text also search the motif metadata "
    "(BM25 over names in every spelling and the descriptions), and the visual and lexical "
    "rankings are fused by weighted reciprocal rank fusion (`lexical_weight`; 0: visual order); "
    "each hit reports both parts. By default one hit per source photo (`dedupe`). `motifs` "
    "restricts the search to those motif numbers. `query.language` says whether the text is "
    "Indonesian or English.",
    responses=error_responses(
        ErrorType.PAYLOAD_TOO_LARGE,
        ErrorType.UNSUPPORTED_MEDIA,
        ErrorType.OVERLOADED,
        ErrorType.NOT_READY,
    ),
)
async def search(body: SearchRequest, request: Request, engine: ReadyEngine) -> SearchResponse:
    limits = request.app.state.settings.image_limits
    return await request.app.state.limiter.run(_search, engine, body, limits)


def _embed(engine: RetrievalEngine, body: EmbedRequest, limits: ImageLimits) -> EmbedResponse:
    payloads = list(body.images or [])
    fields = [f"images[{i}]" for i in range(len(payloads))]
    images = decode_images(payloads, limits=limits, fields=fields)
    return engine.encoder.embed(list(body.texts or []), images)


@router.post(
    "/embed",
    operation_id="embed",
    response_model=EmbedResponse,
    summary="CLIP embeddings of texts and images",
    description=f"L2-normalised CLIP vectors in the space the index uses (cosine = dot product). "
    f"At most {MAX_EMBED_ITEMS} texts and images together per request; images count against the "
    "upload size limit together. Concurrent requests share model calls (micro-batching).",
    responses=error_responses(
        ErrorType.PAYLOAD_TOO_LARGE,
        ErrorType.UNSUPPORTED_MEDIA,
        ErrorType.OVERLOADED,
        ErrorType.NOT_READY,
    ),
)
async def embed(body: EmbedRequest, request: Request, engine: ReadyEngine) -> EmbedResponse:
    limits = request.app.state.settings.image_limits
    return await request.app.state.limiter.run(_embed, engine, body, limits)


@router.get(
    "/images/{item_id}",
    operation_id="getImage",
    summary="A stored motif image (JPEG)",
    description="`ETag` names the index version, size and id; send it back in `If-None-Match` "
    "for a 304.",
    response_class=FileResponse,
    responses={
        200: {"content": {"image/jpeg": {}}, "description": "The image"},
        304: {"description": "Not modified: the `If-None-Match` ETag is current"},
        **error_responses(ErrorType.NOT_FOUND, ErrorType.NOT_READY),
    },
)
def get_image(
    engine: ReadyEngine,
    item_id: int = Path(description="A hit's `id` (a row of the index)."),
    size: int = Query(
        512,
        description="Side in pixels: 224 (CLIP input) or 512 (SD input).",
        json_schema_extra={"enum": list(IMAGE_SIZES)},
    ),
    index_version: str | None = Query(
        None,
        description="The `index.version` of the search the id came from: ids belong to one index "
        "version, so after a reload to another one the answer is 404 instead of another image.",
    ),
    if_none_match: str | None = Header(
        None, description="An ETag of this image seen before: 304 without a body when current."
    ),
) -> Response:
    if size not in IMAGE_SIZES:
        raise ServiceError(ErrorType.VALIDATION, f"size must be one of {list(IMAGE_SIZES)}")
    path, version = engine.served.image_file(item_id, size)
    if index_version is not None and index_version != version:
        raise ServiceError(
            ErrorType.NOT_FOUND,
            f"index version {index_version} is no longer served (now {version}); search again",
        )
    if path is None or not path.is_file():
        raise ServiceError(ErrorType.NOT_FOUND, f"no image with id {item_id} in this index")
    headers = {
        "ETag": image_etag(version, size, item_id),
        "Cache-Control": cache_control(index_version),
    }
    if etag_matches(if_none_match, headers["ETag"]):
        return Response(status_code=304, headers=headers)
    return FileResponse(path, media_type="image/jpeg", headers=headers)
