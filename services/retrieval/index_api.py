"""`GET /v1/index` (what this replica serves) and `POST /v1/index/reload` (admin: hot swap)."""

from __future__ import annotations

from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, Depends

from services.common.admin import admin_guard
from services.common.contracts.retrieval import IndexStatus, ReloadRequest, ReloadResponse
from services.common.errors import ErrorType, error_responses
from services.retrieval.api import ReadyEngine

router = APIRouter(prefix="/v1/index", tags=["index"])


# `Authorization: Bearer <RETRIEVAL_ADMIN_TOKEN>`; with no token configured, reload is off.
require_admin = admin_guard("index reload", "RETRIEVAL_ADMIN_TOKEN")


Admin = Annotated[None, Depends(require_admin)]


@router.get(
    "",
    operation_id="getIndex",
    response_model=IndexStatus,
    summary="The index this replica serves: version, type, size, model, load time",
    description="The loaded index's manifest and where this replica stands: version, type, size, dimension, motifs, model, build parameters, device, and when it was built and loaded.",
    responses=error_responses(ErrorType.NOT_READY),
)
def index_status(engine: ReadyEngine) -> IndexStatus:
    return engine.served.status()


@router.post(
    "/reload",
    operation_id="reloadIndex",
    response_model=ReloadResponse,
    summary="Swap to another index directory without a restart (admin)",
    description="Loads `index_dir` beside the current index, checks its manifest and checksums "
    "against the model this service runs, then swaps atomically. Searches already running finish "
    "on the old index. On any failure the old index keeps serving and the answer says why: 404 "
    "for a missing directory, 422 for one that is not a valid index for this model.",
    responses=error_responses(
        ErrorType.UNAUTHORIZED, ErrorType.NOT_FOUND, ErrorType.OVERLOADED, ErrorType.NOT_READY
    ),
)
async def reload_index(
    body: ReloadRequest,
    _admin: Admin,
    engine: ReadyEngine,
) -> ReloadResponse:
    # Loading reads and checksums the whole index: a worker thread, outside the search limiter, so
    # a busy replica still accepts the reload that an operator or the publish job sends.
    return await anyio.to_thread.run_sync(engine.served.reload, body.index_dir)
