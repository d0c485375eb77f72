"""Library routes: thin `def` handlers (FastAPI runs them in its thread pool) over `LibraryStore`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, File, Header, Path, Query, Request, Response, UploadFile
from fastapi.responses import FileResponse
from pydantic import BaseModel

from services.common.contracts.library import (
    ADMIN_HEADER,
    BOARD_ID,
    MAX_MOTIF,
    MAX_PAGE,
    OWNER_HEADER,
    OWNER_ID,
    THUMBNAIL_SIZES,
    Board,
    BoardCreate,
    BoardList,
    BoardUpdate,
    Design,
    DesignCreate,
    DesignPage,
    DesignUpdate,
    ImportResponse,
    NearestRequest,
    NearestResponse,
)
from services.common.errors import ErrorType, ServiceError, error_responses
from services.common.health import require_ready
from services.common.images import decode_base64
from services.library.provenance import PNG_SIGNATURE, read_header, recall_request
from services.library.store import DesignFilter, LibraryStore, Scope, to_us

router = APIRouter(prefix="/v1", tags=["library"])

_READ_ERRORS = error_responses(
    ErrorType.NOT_FOUND, ErrorType.NOT_READY, ErrorType.STORE_UNAVAILABLE
)
_WRITE_ERRORS = error_responses(
    ErrorType.NOT_FOUND,
    ErrorType.NOT_READY,
    ErrorType.STORE_UNAVAILABLE,
    ErrorType.PAYLOAD_TOO_LARGE,
)
# Designs are immutable (a new one has a new id and sha256): a browser may keep them for a year.
_IMMUTABLE = "private, max-age=31536000, immutable"


# async: a sync dependency costs a worker-thread hop per request (FastAPI runs it in the pool).
async def scope(
    owner: str = Header(
        alias=OWNER_HEADER,
        description="The owner's id (an API key's id, or `anonymous`).",
        # The rule below, in the spec for generators and schema-driven tests.
        json_schema_extra={"pattern": f"^{OWNER_ID.pattern}$"},
    ),
    admin: str | None = Header(
        None, alias=ADMIN_HEADER, description="`true`: see and change every owner's things."
    ),
) -> Scope:
    if not OWNER_ID.fullmatch(owner):
        raise ServiceError(ErrorType.VALIDATION, f"{OWNER_HEADER} is not a valid owner id")
    return Scope(owner=owner, admin=(admin or "").strip().lower() == "true")


Who = Annotated[Scope, Depends(scope)]  # whose designs and boards a request sees
ReadyStore = Annotated[LibraryStore, Depends(require_ready)]  # 503 not_ready until it is open


def _json(model: BaseModel) -> Response:
    """A page already built from validated rows, serialised once: FastAPI would validate the
    response model a second time (a page of 50 designs with their provenance)."""
    return Response(model.model_dump_json(), media_type="application/json")


def _png(raw: bytes, field: str) -> bytes:
    if not raw.startswith(PNG_SIGNATURE):
        raise ServiceError(ErrorType.UNSUPPORTED_MEDIA, f"{field} is not a PNG file")
    return raw


DesignId = Path(description="A design id (`d_` and 20 hex digits).")
BoardId = Path(description="A board id (`b_` and 20 hex digits).")


@router.post(
    "/designs",
    operation_id="createDesign",
    status_code=201,
    response_model=Design,
    summary="Save a generated image as a design, with its provenance inside the PNG",
    description="Stores the PNG (its provenance written into an iTXt chunk) and the design's metadata for the owner in `X-Owner-Id`; answers 201 with the design. The same `id` again answers the saved design (idempotent); a full library is 409.",
    responses={
        **_WRITE_ERRORS,
        **error_responses(ErrorType.QUOTA_EXCEEDED, ErrorType.UNSUPPORTED_MEDIA),
    },
)
def create_design(
    who: Who,
    store: ReadyStore,
    body: DesignCreate,
    request: Request,
) -> Design:
    if body.id is not None and (saved := store.saved_design(who.owner, body.id)) is not None:
        return saved  # a retried save (the gateway's outbox): nothing new to count
    limits = request.app.state.settings.image_limits
    png = _png(decode_base64(body.image_b64, limits=limits, field="image_b64"), "image_b64")
    size = read_header(png)
    if size.width * size.height > limits.max_pixels:
        raise ServiceError(
            ErrorType.PAYLOAD_TOO_LARGE,
            f"image_b64 is {size.width}x{size.height} pixels; the limit is {limits.max_pixels}",
        )
    design = store.create_design(
        who.owner,
        png=png,
        provenance=body.provenance,
        embedding=body.embedding,
        parent_id=body.parent_id,
        title=body.title,
        notes=body.notes,
        tags=body.tags,
        design_id=body.id,
        created_us=to_us(body.created_at) if body.created_at else None,
    )
    request.app.state.library_metrics.saved.inc()
    return design


@router.get(
    "/designs",
    operation_id="listDesigns",
    response_model=DesignPage,
    summary="The owner's designs, newest first, a page at a time, with filters",
    description="Pages of the owner's designs (an admin: everyone's), newest first; `next_cursor` as `cursor` gives the next page. Filters combine.",
    responses=_READ_ERRORS,
)
def list_designs(
    who: Who,
    store: ReadyStore,
    limit: int = Query(50, ge=1, le=MAX_PAGE, description="Designs per page."),
    cursor: str | None = Query(None, max_length=200, description="`next_cursor` of a page."),
    motif: int | None = Query(
        None, ge=0, le=MAX_MOTIF, description="Made from references of this motif."
    ),
    board: str | None = Query(
        None,
        max_length=40,
        description="On this board (`b_` and 20 hex digits).",
        json_schema_extra={"pattern": f"^{BOARD_ID.pattern}$"},
    ),
    favorite: bool | None = Query(None, description="true: only favourites; false: only others."),
    created_after: datetime | None = Query(None, description="ISO 8601; UTC when no zone."),
    created_before: datetime | None = Query(
        None, description="ISO 8601; UTC when no zone; later than `created_after`."
    ),
    q: str | None = Query(None, max_length=200, description="Words in prompt, title or tags."),
) -> Response:
    filters = DesignFilter(motif, board, favorite, created_after, created_before, q)
    page = store.list_designs_json(who, limit=limit, cursor=cursor, filters=filters)
    return Response(page, media_type="application/json")


@router.post(
    "/designs/nearest",
    operation_id="nearestDesigns",
    response_model=NearestResponse,
    summary="The owner's designs nearest to a CLIP embedding (cosine)",
    description="The owner's designs ranked by the cosine similarity of their stored embeddings to `embedding`, best first (the gateway embeds text or images through retrieval).",
    responses=_READ_ERRORS,
)
def nearest(
    who: Who,
    store: ReadyStore,
    body: NearestRequest,
) -> Response:
    return _json(NearestResponse(designs=store.nearest(who, body.embedding, body.limit)))


@router.post(
    "/designs/import",
    operation_id="importDesign",
    response_model=ImportResponse,
    summary="The RAG request that recalls a PNG's settings (ours, or A1111 `parameters`)",
    description="Reads the settings chunk of an uploaded PNG (our `batik` provenance, or another tool's `parameters`) and answers the RAG request that recalls them. A PNG without settings is 422. Nothing is stored.",
    responses={
        **_READ_ERRORS,
        **error_responses(ErrorType.PAYLOAD_TOO_LARGE, ErrorType.UNSUPPORTED_MEDIA),
    },
)
def import_settings(
    _who: Who,
    request: Request,
    image: UploadFile = File(description="A PNG made by this system or by another tool."),
) -> ImportResponse:
    limit = request.app.state.settings.max_upload_bytes
    raw = image.file.read(limit + 1)
    if len(raw) > limit:
        raise ServiceError(ErrorType.PAYLOAD_TOO_LARGE, f"image is larger than {limit} bytes")
    fields, source = recall_request(_png(raw, "image"))
    return ImportResponse(request=fields, source=source)  # type: ignore[arg-type]


@router.get(
    "/designs/{design_id}",
    operation_id="getDesign",
    response_model=Design,
    summary="One design with its provenance",
    description="The design's metadata and provenance; another owner's design answers 404.",
    responses=_READ_ERRORS,
)
def get_design(
    who: Who,
    store: ReadyStore,
    design_id: str = DesignId,
) -> Design:
    return store.get_design(who, design_id)


@router.get(
    "/designs/{design_id}/image", operation_id="getDesignImage",
    response_class=FileResponse,
    summary="The design's PNG (settings inside), or a thumbnail with `size`",
    description="The stored PNG, or a thumbnail whose longest side is `size`. Immutable: an ETag (the sha256) and a long Cache-Control; `If-None-Match` answers 304.",
    responses={200: {"content": {"image/png": {}}}, 304: {"description": "Not modified"},
               **_READ_ERRORS},
)  # fmt: skip
def design_image(
    who: Who,
    store: ReadyStore,
    request: Request,
    design_id: str = DesignId,
    size: int | None = Query(
        None,
        description=f"Thumbnail: longest side, one of {', '.join(map(str, THUMBNAIL_SIZES))}.",
        json_schema_extra={"enum": list(THUMBNAIL_SIZES)},
    ),
) -> Response:
    if size is not None and size not in THUMBNAIL_SIZES:
        raise ServiceError(
            ErrorType.VALIDATION, f"size must be one of {', '.join(map(str, THUMBNAIL_SIZES))}"
        )
    path, tag = store.image_path(who, design_id, size)
    etag = f'"{tag}"'
    headers = {"ETag": etag, "Cache-Control": _IMMUTABLE}
    if etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    filename = f"{design_id}.png" if size is None else f"{design_id}-{size}.png"
    return FileResponse(
        path, media_type="image/png", headers=headers, filename=filename,
        content_disposition_type="inline",
    )  # fmt: skip


@router.patch(
    "/designs/{design_id}",
    operation_id="updateDesign",
    response_model=Design,
    summary="Change title, notes, tags or favourite",
    description="Only the fields sent change; `null` clears the title or the notes.",
    responses=_READ_ERRORS,
)
def update_design(
    who: Who,
    store: ReadyStore,
    body: DesignUpdate,
    design_id: str = DesignId,
) -> Design:
    return store.update_design(who, design_id, body.model_dump(exclude_unset=True))


@router.delete(
    "/designs/{design_id}",
    operation_id="deleteDesign",
    status_code=204,
    summary="Delete a design: gone from every list and board, its files removed",
    description="Answers 204; the design leaves every list and board at once and its files are removed.",
    responses=_READ_ERRORS,
)
def delete_design(
    who: Who,
    store: ReadyStore,
    request: Request,
    design_id: str = DesignId,
) -> Response:
    store.delete_design(who, design_id)
    request.app.state.library_metrics.deleted.inc()
    return Response(status_code=204)


@router.get(
    "/designs/{design_id}/similar",
    operation_id="listSimilarDesigns",
    response_model=NearestResponse,
    summary="The owner's designs nearest to this one by CLIP embedding",
    description="The owner's other designs ranked by the cosine similarity of their embeddings to this one's, best first.",
    responses=_READ_ERRORS,
)
def similar(
    who: Who,
    store: ReadyStore,
    design_id: str = DesignId,
    limit: int = Query(10, ge=1, le=MAX_PAGE, description="Designs to answer, best first."),
) -> Response:
    return _json(NearestResponse(designs=store.similar(who, design_id, limit)))


# ----------------------------------------------------------------------------------- boards


@router.post(
    "/boards", operation_id="createBoard", status_code=201, response_model=Board, summary="Make a board",
    description="Answers 201 with the new, empty board of the owner.",
    responses=_READ_ERRORS,
)  # fmt: skip
def create_board(body: BoardCreate, who: Who, store: ReadyStore) -> Board:
    return store.create_board(who.owner, body.name)


@router.get(
    "/boards",
    operation_id="listBoards",
    response_model=BoardList,
    summary="The owner's boards",
    description="Every board of the owner, oldest first, with its design count.",
    responses=_READ_ERRORS,
)
def list_boards(who: Who, store: ReadyStore) -> BoardList:
    return BoardList(boards=store.list_boards(who))


@router.get(
    "/boards/{board_id}",
    operation_id="getBoard",
    response_model=Board,
    summary="One board",
    description="The board with its design count; another owner's board answers 404.",
    responses=_READ_ERRORS,
)
def get_board(
    who: Who,
    store: ReadyStore,
    board_id: str = BoardId,
) -> Board:
    return store.get_board(who, board_id)


@router.patch(
    "/boards/{board_id}",
    operation_id="updateBoard",
    response_model=Board,
    summary="Rename a board",
    description="Answers the board with its new name.",
    responses=_READ_ERRORS,
)
def rename_board(
    who: Who,
    store: ReadyStore,
    body: BoardUpdate,
    board_id: str = BoardId,
) -> Board:
    return store.rename_board(who, board_id, body.name)


@router.delete(
    "/boards/{board_id}",
    operation_id="deleteBoard",
    status_code=204,
    summary="Delete a board (its designs stay)",
    description="Answers 204; the designs on it stay.",
    responses=_READ_ERRORS,
)
def delete_board(
    who: Who,
    store: ReadyStore,
    board_id: str = BoardId,
) -> Response:
    store.delete_board(who, board_id)
    return Response(status_code=204)


@router.put(
    "/boards/{board_id}/designs/{design_id}",
    operation_id="addDesignToBoard",
    status_code=204,
    summary="Put a design on a board (again: no change)",
    description="Answers 204; putting a design on a board it is already on changes nothing.",
    responses=_READ_ERRORS,
)
def add_to_board(
    who: Who,
    store: ReadyStore,
    board_id: str = BoardId,
    design_id: str = DesignId,
) -> Response:
    store.add_to_board(who, board_id, design_id)
    return Response(status_code=204)


@router.delete(
    "/boards/{board_id}/designs/{design_id}",
    operation_id="removeDesignFromBoard",
    status_code=204,
    summary="Take a design off a board",
    description="Answers 204; the design stays in the library.",
    responses=_READ_ERRORS,
)
def remove_from_board(
    who: Who,
    store: ReadyStore,
    board_id: str = BoardId,
    design_id: str = DesignId,
) -> Response:
    store.remove_from_board(who, board_id, design_id)
    return Response(status_code=204)
