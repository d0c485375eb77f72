"""The design library through the gateway: designs, their images, boards, import, remix and search.

Behind the same guard as every `/v1` route (API key, then rate limit). Each call goes to the library
service with the caller's owner id (`X-Owner-Id`, never the key) and, for admin keys,
`X-Owner-Admin: true`; the library answers another owner's design as unknown (404). Its answers are
passed on as they are (an image with its ETag and immutable Cache-Control, 304 on If-None-Match).
Remix and search also use the RAG flow and retrieval's CLIP embeddings, which only the gateway has.
A read of a design an answer named but the outbox has not delivered yet saves it first (`_settled`).
"""

from __future__ import annotations

from datetime import datetime

import httpx
from fastapi import (
    APIRouter,
    BackgroundTasks,
    Depends,
    File,
    Path,
    Query,
    Request,
    Response,
    UploadFile,
)
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from gateway.api import (
    _GUARD_ERRORS,
    ReadyGateway,
    caller_of,
    formatted,
    guard,
    read_upload,
    run_flow,
    server_timing,
    wake_drain_after,
)
from gateway.clients import LibraryClient
from gateway.composition import Gateway
from services.common.contracts.gateway import DesignSearch, RagRequest, RagResponse, RemixRequest
from services.common.contracts.library import (
    BOARD_ID,
    DESIGN_ID,
    MAX_MOTIF,
    MAX_PAGE,
    THUMBNAIL_SIZES,
    Board,
    BoardCreate,
    BoardList,
    BoardUpdate,
    Design,
    DesignPage,
    DesignUpdate,
    ImportResponse,
    NearestRequest,
    NearestResponse,
)
from services.common.contracts.retrieval import EmbedRequest
from services.common.errors import (
    ErrorType,
    ServiceError,
    StoreUnavailableError,
    error_responses,
    quoted,
)
from services.common.images import decode_base64, load_image_off_loop

router = APIRouter(prefix="/v1", tags=["library"], dependencies=[Depends(guard)])

_UPSTREAM = (
    ErrorType.NOT_READY,
    ErrorType.STORE_UNAVAILABLE,
    ErrorType.BREAKER_OPEN,
    ErrorType.UPSTREAM,
    ErrorType.UPSTREAM_TIMEOUT,
)
_ERRORS = error_responses(*_GUARD_ERRORS, ErrorType.NOT_FOUND, *_UPSTREAM)
_LIST_ERRORS = error_responses(*_GUARD_ERRORS, *_UPSTREAM)
_PASSED_HEADERS = ("etag", "cache-control", "last-modified", "content-disposition")


def _library(gateway: Gateway) -> LibraryClient:
    if gateway.library is None:
        raise StoreUnavailableError("this gateway has no library (GATEWAY_LIBRARY_URL is off)")
    return gateway.library


def _checked(pattern, value: str, what: str) -> str:
    """A malformed id is nobody's design or board: 404 here, as the library would say."""
    if not pattern.fullmatch(value):
        raise ServiceError(ErrorType.NOT_FOUND, f"no {what} {quoted(value)}")
    return value


def _relay(answer: httpx.Response) -> Response:
    """The library's answer as the gateway's: status, body, type and caching headers."""
    headers = {k: v for k, v in answer.headers.items() if k.lower() in _PASSED_HEADERS}
    if answer.status_code in (204, 304):
        return Response(status_code=answer.status_code, headers=headers)
    return Response(
        answer.content,
        status_code=answer.status_code,
        media_type=answer.headers.get("content-type", "application/json"),
        headers=headers,
    )


async def _call(request: Request, gateway: Gateway, method: str, path: str, **kwargs) -> Response:
    answer = await _library(gateway).call(method, path, caller_of(request), **kwargs)
    return _relay(answer)


async def _settled(request: Request, gateway: Gateway, design_id: str | None = None) -> None:
    """Before a read: the design (without an id: all the caller's designs) still in the outbox is
    saved first, so the ids an answer named work at once (gateway/saving.py)."""
    if gateway.saver is None:
        return
    if design_id is None:
        await gateway.saver.settle_owner(caller_of(request))
    else:
        await gateway.saver.settle(design_id, caller_of(request))


DesignId = Path(description="`d_` and 20 hex digits.")
BoardId = Path(description="`b_` and 20 hex digits.")


# ---- designs -------------------------------------------------------------------------------------


@router.get(
    "/designs",
    operation_id="listDesigns",
    response_model=DesignPage,
    summary="The caller's designs, newest first, a page at a time, with filters",
    description="Pages of the caller's saved designs (an admin key: everyone's), newest first; pass `next_cursor` as `cursor` for the next page. Filters combine; a `board` that is not the caller's answers 404.",
    responses=_ERRORS,  # 404: the board filter names no board of the caller
)
async def list_designs(
    request: Request,
    gateway: ReadyGateway,
    limit: int = Query(50, ge=1, le=MAX_PAGE, description="Designs per page."),
    cursor: str | None = Query(None, description="`next_cursor` of the page before."),
    motif: int | None = Query(
        None, ge=0, le=MAX_MOTIF, description="Only designs made from this motif number."
    ),
    board: str | None = Query(
        None,
        description="Only designs on this board (its id, `b_` and 20 hex digits).",
        # Said for clients; the library checks it (422 naming the value).
        json_schema_extra={"pattern": f"^{BOARD_ID.pattern}$"},
    ),
    favorite: bool | None = Query(None, description="true: only favourites."),
    created_after: datetime | None = Query(None, description="ISO 8601 time."),
    created_before: datetime | None = Query(None, description="ISO 8601 time."),
    q: str | None = Query(None, max_length=200, description="Words in prompt, title or tags."),
) -> Response:
    params = {
        "limit": limit,
        "cursor": cursor,
        "motif": motif,
        "board": board,
        "favorite": None if favorite is None else str(favorite).lower(),
        "created_after": created_after.isoformat() if created_after else None,
        "created_before": created_before.isoformat() if created_before else None,
        "q": q,
    }
    query = {k: v for k, v in params.items() if v is not None}
    await _settled(request, gateway)
    return await _call(request, gateway, "GET", "/v1/designs", params=query)


@router.get(
    "/designs/{design_id}",
    operation_id="getDesign",
    response_model=Design,
    summary="One design: how it was made (provenance), its references, lineage and boards",
    description="The design's metadata: its provenance (the RAG request and the models that made it), the motifs it came from, its parent when remixed, and the boards it is on. Another key's design answers 404.",
    responses=_ERRORS,
)
async def get_design(
    request: Request, gateway: ReadyGateway, design_id: str = DesignId
) -> Response:
    _checked(DESIGN_ID, design_id, "design")
    await _settled(request, gateway, design_id)
    return await _call(request, gateway, "GET", f"/v1/designs/{design_id}")


@router.patch(
    "/designs/{design_id}",
    operation_id="updateDesign",
    response_model=Design,
    summary="Change a design's title, notes, tags or favourite mark",
    description="Only the fields sent change; `null` clears the title or the notes. Answers the design as changed.",
    responses=_ERRORS,
)
async def update_design(
    body: DesignUpdate, request: Request, gateway: ReadyGateway, design_id: str = DesignId
) -> Response:
    _checked(DESIGN_ID, design_id, "design")
    await _settled(request, gateway, design_id)
    return await _call(
        request,
        gateway,
        "PATCH",
        f"/v1/designs/{design_id}",
        json=body.model_dump(mode="json", exclude_unset=True),
    )


@router.delete(
    "/designs/{design_id}",
    operation_id="deleteDesign",
    status_code=204,
    response_class=Response,
    summary="Delete a design: gone from every list and board at once, its files removed",
    description="Answers 204; the design leaves every list and board at once and its PNG is removed. Another key's design answers 404.",
    responses=_ERRORS,
)
async def delete_design(
    request: Request, gateway: ReadyGateway, design_id: str = DesignId
) -> Response:
    _checked(DESIGN_ID, design_id, "design")
    await _settled(request, gateway, design_id)
    return await _call(request, gateway, "DELETE", f"/v1/designs/{design_id}")


@router.get(
    "/designs/{design_id}/image",
    operation_id="getDesignImage",
    response_class=Response,
    summary="A design's PNG (its settings inside), or a thumbnail with `size`",
    description="Immutable: the answer carries an `ETag` (the PNG's sha256) and a long "
    "`Cache-Control`; a request with that `If-None-Match` answers 304 without a body.",
    responses={
        200: {"content": {"image/png": {}}},
        304: {"description": "Not modified (If-None-Match matched)"},
        **_ERRORS,
    },
)
async def design_image(
    request: Request,
    gateway: ReadyGateway,
    design_id: str = DesignId,
    size: int | None = Query(
        None,
        description=f"Longest side of a thumbnail, pixels: one of {THUMBNAIL_SIZES}.",
        json_schema_extra={"enum": list(THUMBNAIL_SIZES)},
    ),
) -> Response:
    _checked(DESIGN_ID, design_id, "design")
    await _settled(request, gateway, design_id)
    if size is not None and size not in THUMBNAIL_SIZES:
        raise ServiceError(ErrorType.VALIDATION, f"size must be one of {THUMBNAIL_SIZES}")
    match = request.headers.get("if-none-match")
    return await _call(
        request,
        gateway,
        "GET",
        f"/v1/designs/{design_id}/image",
        params={"size": size} if size else None,
        extra_headers={"If-None-Match": match} if match else None,
        accept=frozenset({304}),
    )


@router.get(
    "/designs/{design_id}/similar",
    operation_id="listSimilarDesigns",
    response_model=NearestResponse,
    summary="The caller's designs nearest to this one (CLIP embedding, cosine)",
    description="The caller's other designs ranked by the cosine similarity of their CLIP image embeddings to this one's, best first.",
    responses=_ERRORS,
)
async def similar_designs(
    request: Request,
    gateway: ReadyGateway,
    design_id: str = DesignId,
    limit: int = Query(10, ge=1, le=MAX_PAGE, description="Designs to answer, best first."),
) -> Response:
    _checked(DESIGN_ID, design_id, "design")
    await _settled(request, gateway, design_id)
    return await _call(
        request, gateway, "GET", f"/v1/designs/{design_id}/similar", params={"limit": limit}
    )


@router.post(
    "/designs/search",
    operation_id="searchDesigns",
    response_model=NearestResponse,
    summary="The caller's designs nearest to a text or an image (CLIP, through retrieval)",
    description="Embeds `text` or `image` (one of them) with retrieval's CLIP and answers the caller's designs nearest to it, best first.",
    responses=error_responses(
        *_GUARD_ERRORS, ErrorType.PAYLOAD_TOO_LARGE, ErrorType.UNSUPPORTED_MEDIA, *_UPSTREAM
    ),
)
async def search_designs(
    body: DesignSearch, request: Request, gateway: ReadyGateway
) -> NearestResponse:
    library = _library(gateway)
    await _settled(request, gateway)
    if body.image is not None:
        limits = request.app.state.settings.image_limits
        await load_image_off_loop(decode_base64(body.image, limits=limits), limits=limits)
        embedding = (await gateway.retrieval.embed(EmbedRequest(images=[body.image]))).images[0]
    else:
        embedding = (await gateway.retrieval.embed(EmbedRequest(texts=[body.text]))).texts[0]
    return await library.nearest(
        NearestRequest(embedding=embedding, limit=body.limit), caller_of(request)
    )


@router.post(
    "/designs/import",
    operation_id="importDesign",
    response_model=ImportResponse,
    summary="Read the settings out of a PNG (ours, or another tool's `parameters` chunk)",
    description="Answers the RAG request that recalls them, to send to `POST /v1/rag`. A PNG "
    "without settings answers 422. Nothing is saved.",
    responses=error_responses(
        *_GUARD_ERRORS, ErrorType.PAYLOAD_TOO_LARGE, ErrorType.UNSUPPORTED_MEDIA, *_UPSTREAM
    ),
)
async def import_design(
    request: Request,
    gateway: ReadyGateway,
    image: UploadFile = File(description="A PNG with settings inside."),
) -> Response:
    raw = await read_upload(image, request.app.state.settings.image_limits)
    if raw is None:
        raise ServiceError(ErrorType.VALIDATION, "image: send a PNG file")
    files = {"image": (image.filename or "design.png", raw, image.content_type or "image/png")}
    # Reads only: safe to retry.
    return await _call(request, gateway, "POST", "/v1/designs/import", files=files, idempotent=True)


@router.post(
    "/designs/{design_id}/remix",
    operation_id="remixDesign",
    response_model=RagResponse,
    summary="Run a design's recorded request again with changes; the new design's parent is it",
    description="Overrides: text, seed, strength, guidance_scale, steps, symmetry, tile, repeat "
    "(`tile: false` alone also drops the recorded repeat); `response_format` as in `/v1/rag`. A design "
    "made from a query image cannot be remixed here (the library keeps no query image): upload "
    "the image again with its settings.",
    responses=error_responses(*_GUARD_ERRORS, ErrorType.NOT_FOUND, *_UPSTREAM),
)
async def remix_design(
    body: RemixRequest,
    request: Request,
    response: Response,
    gateway: ReadyGateway,
    background: BackgroundTasks,
    design_id: str = DesignId,
) -> RagResponse:
    _checked(DESIGN_ID, design_id, "design")
    await _settled(request, gateway, design_id)
    caller = caller_of(request)
    design = await _library(gateway).design(design_id, caller)
    recorded = design.provenance.get("request")
    if not isinstance(recorded, dict):
        raise ServiceError(ErrorType.VALIDATION, f"design {design_id} has no recorded request")
    if design.provenance.get("query_image"):
        raise ServiceError(
            ErrorType.VALIDATION,
            f"design {design_id} was made from a query image, which the library does not keep; "
            "send the image again to /v1/rag/upload with the design's settings",
        )
    overrides = body.model_dump(exclude_none=True, exclude={"save", "response_format"})
    if overrides.get("tile") is False and "repeat" not in overrides:
        overrides["repeat"] = "full"  # an untiled remix has no repeat to keep
    try:
        remix = RagRequest.model_validate(
            {**recorded, **overrides, "save": body.save, "response_format": body.response_format},
            strict=False,
        )
    except ValidationError as exc:  # the same 422 envelope as a bad body
        raise RequestValidationError(exc.errors()) from None
    # The same flow as /v1/rag: cost, the key's bound on generating flows, cancel on hang-up.
    answer = await run_flow(request, gateway, remix, None, parent_id=design.id)
    request.app.state.gateway_metrics.observe(answer)
    response.headers["Server-Timing"] = server_timing(answer.timings_ms, answer.cache.hit)
    wake_drain_after(background, gateway)
    return await formatted(answer, remix, request, gateway)


# ---- boards --------------------------------------------------------------------------------------


@router.post(
    "/boards",
    operation_id="createBoard",
    status_code=201,
    response_model=Board,
    summary="Make a board (a named collection of designs)",
    description="Answers 201 with the new board (no designs yet). Names need not be unique.",
    responses=_LIST_ERRORS,
)
async def create_board(body: BoardCreate, request: Request, gateway: ReadyGateway) -> Response:
    return await _call(request, gateway, "POST", "/v1/boards", json=body.model_dump())


@router.get(
    "/boards",
    operation_id="listBoards",
    response_model=BoardList,
    summary="The caller's boards",
    description="Every board of the caller, oldest first, with how many designs each holds.",
    responses=_LIST_ERRORS,
)
async def list_boards(request: Request, gateway: ReadyGateway) -> Response:
    return await _call(request, gateway, "GET", "/v1/boards")


@router.patch(
    "/boards/{board_id}",
    operation_id="updateBoard",
    response_model=Board,
    summary="Rename a board",
    description="Answers the board with its new name. Another key's board answers 404.",
    responses=_ERRORS,
)
async def update_board(
    body: BoardUpdate, request: Request, gateway: ReadyGateway, board_id: str = BoardId
) -> Response:
    _checked(BOARD_ID, board_id, "board")
    return await _call(request, gateway, "PATCH", f"/v1/boards/{board_id}", json=body.model_dump())


@router.delete(
    "/boards/{board_id}",
    operation_id="deleteBoard",
    status_code=204,
    response_class=Response,
    summary="Delete a board (its designs stay)",
    description="Answers 204; the designs on it stay in the library.",
    responses=_ERRORS,
)
async def delete_board(
    request: Request, gateway: ReadyGateway, board_id: str = BoardId
) -> Response:
    _checked(BOARD_ID, board_id, "board")
    return await _call(request, gateway, "DELETE", f"/v1/boards/{board_id}")


@router.put(
    "/boards/{board_id}/designs/{design_id}",
    operation_id="addDesignToBoard",
    status_code=204,
    response_class=Response,
    summary="Put a design on a board",
    responses=_ERRORS,
)
@router.delete(
    "/boards/{board_id}/designs/{design_id}",
    operation_id="removeDesignFromBoard",
    status_code=204,
    response_class=Response,
    summary="Take a design off a board",
    responses=_ERRORS,
)
async def board_membership(
    request: Request,
    gateway: ReadyGateway,
    board_id: str = BoardId,
    design_id: str = DesignId,
) -> Response:
    """PUT adds, DELETE removes: the same call to the library with the request's method."""
    _checked(BOARD_ID, board_id, "board")
    _checked(DESIGN_ID, design_id, "design")
    await _settled(request, gateway, design_id)
    path = f"/v1/boards/{board_id}/designs/{design_id}"
    return await _call(request, gateway, request.method, path)
