"""`/healthz` (the process is alive) and `/readyz` (models and index are loaded; 503 until then)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from services.common.errors import ErrorType, NotLoadedError, error_responses

router = APIRouter(tags=["health"])


@router.get(
    "/healthz",
    operation_id="healthz",
    summary="Liveness: the process answers",
    description="Answers 200 as long as the process serves HTTP, models loaded or not; for a "
    "liveness probe. Open: no key needed.",
    responses={200: {"content": {"application/json": {"example": {"status": "ok"}}}}},
)
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    operation_id="readyz",
    summary="Readiness: models are loaded and requests can be served",
    description="200 once the models (and index) are loaded, with what was loaded; 503 `not_ready` "
    "while they load or when loading failed (the message says why). For a readiness probe; open.",
    responses={
        200: {"content": {"application/json": {"example": {"status": "ready"}}}},
        **error_responses(ErrorType.NOT_READY),
    },
)
def readyz(request: Request) -> dict[str, Any]:
    state = request.app.state
    if getattr(state, "load_error", None):
        raise NotLoadedError(f"loading failed: {state.load_error}")
    if not getattr(state, "ready", False):
        raise NotLoadedError("models are still loading")
    describe = getattr(state, "describe", None)
    return {"status": "ready", **(describe() if describe else {})}


async def require_ready(request: Request) -> Any:
    """Dependency for model routes: the engine on app.state, or 503 while it loads. async: no
    worker-thread hop per request for a check that never blocks."""
    state = request.app.state
    if not getattr(state, "ready", False):
        raise NotLoadedError("models are still loading")
    return state.engine
