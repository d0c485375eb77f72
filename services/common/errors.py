"""The error envelope every service answers with, and the one table of error types to HTTP statuses.

Every non-2xx body is `{"error": {"type", "message", "request_id"}}`. Code that refuses a request raises
`ServiceError` with a type from the table; handlers never build error bodies themselves. Any other
exception is a bug: it answers `internal` (500) with a sanitised message and its trace in the log.
"""

from __future__ import annotations

import logging
from enum import StrEnum
from typing import Any

from pydantic import BaseModel

from services.common.logging import current_request_id

log = logging.getLogger(__name__)


class ErrorType(StrEnum):
    VALIDATION = "validation"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    UNSUPPORTED_MEDIA = "unsupported_media"
    NOT_FOUND = "not_found"
    QUOTA_EXCEEDED = "quota_exceeded"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    OVERLOADED = "overloaded"
    NOT_READY = "not_ready"
    UPSTREAM = "upstream"
    UPSTREAM_TIMEOUT = "upstream_timeout"
    INTERNAL = "internal"


STATUS: dict[ErrorType, int] = {
    ErrorType.VALIDATION: 422,
    ErrorType.PAYLOAD_TOO_LARGE: 413,
    ErrorType.UNSUPPORTED_MEDIA: 415,
    ErrorType.NOT_FOUND: 404,
    ErrorType.QUOTA_EXCEEDED: 409,
    ErrorType.METHOD_NOT_ALLOWED: 405,
    ErrorType.UNAUTHORIZED: 401,
    ErrorType.FORBIDDEN: 403,
    ErrorType.OVERLOADED: 429,
    ErrorType.NOT_READY: 503,
    ErrorType.UPSTREAM: 502,
    ErrorType.UPSTREAM_TIMEOUT: 504,
    ErrorType.INTERNAL: 500,
}
_TYPE_BY_STATUS = {status: kind for kind, status in STATUS.items()}
_TYPE_BY_STATUS[400] = ErrorType.VALIDATION


class ServiceError(Exception):
    """An error with a type from the table; its message is shown to the client as it is."""

    def __init__(
        self, type: ErrorType, message: str, *, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.type = ErrorType(type)
        self.message = message
        self.headers = headers or {}

    @property
    def status(self) -> int:
        return STATUS[self.type]


class DomainError(Exception):
    """Raised by engines and stores, which know nothing of HTTP; `error_type` says how it is answered.

    Subclasses name a domain failure (not found, invalid input, quota full, store down); the handler
    installed by `install_error_handlers` is the one place that turns them into the envelope.
    """

    error_type: ErrorType = ErrorType.INTERNAL
    headers: dict[str, str] = {}


class NotFoundError(DomainError, LookupError):
    error_type = ErrorType.NOT_FOUND


class InvalidInputError(DomainError, ValueError):
    error_type = ErrorType.VALIDATION


class QuotaExceededError(DomainError):
    error_type = ErrorType.QUOTA_EXCEEDED


class StoreUnavailableError(DomainError):
    """A database or file store that does not answer: 503, try again later."""

    error_type = ErrorType.NOT_READY
    headers = {"Retry-After": "5"}


class ErrorDetail(BaseModel):
    type: ErrorType
    message: str
    request_id: str | None = None


class ErrorBody(BaseModel):
    error: ErrorDetail


def error_payload(type: ErrorType, message: str) -> dict[str, Any]:
    return {"error": {"type": str(type), "message": message, "request_id": current_request_id()}}


def error_responses(*types: ErrorType) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` for a route: each listed error type with the envelope schema."""
    always = (ErrorType.VALIDATION, ErrorType.INTERNAL)
    return {
        STATUS[t]: {"model": ErrorBody, "description": f"`{t}` error"}
        for t in dict.fromkeys((*types, *always))
    }


def _format_validation(errors: list[dict[str, Any]]) -> str:
    parts = []
    for err in errors[:5]:
        if err.get("type") == "json_invalid":
            parts.append("request body is not valid JSON")
            continue
        location = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body",))
        message = err.get("msg", "invalid value")
        parts.append(f"{location}: {message}" if location else message)
    return "; ".join(parts) or "invalid request"


def install_error_handlers(app: Any) -> None:
    """Route every failure, ours or the framework's, through the envelope."""
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse
    from starlette.exceptions import HTTPException as StarletteHTTPException

    def respond(type: ErrorType, message: str, headers: dict[str, str] | None = None):
        return JSONResponse(error_payload(type, message), status_code=STATUS[type], headers=headers)

    @app.exception_handler(ServiceError)
    async def _service_error(_request, exc: ServiceError):
        if exc.type is ErrorType.INTERNAL:
            log.error("internal error: %s", exc.message)
        return respond(exc.type, exc.message, exc.headers)

    @app.exception_handler(DomainError)
    async def _domain_error(_request, exc: DomainError):
        if exc.error_type is ErrorType.INTERNAL:
            log.error("internal error: %s", exc)
        return respond(exc.error_type, str(exc), dict(exc.headers))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request, exc: RequestValidationError):
        return respond(ErrorType.VALIDATION, _format_validation(list(exc.errors())))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request, exc: StarletteHTTPException):
        kind = _TYPE_BY_STATUS.get(exc.status_code, ErrorType.INTERNAL)
        message = exc.detail if isinstance(exc.detail, str) else kind.value.replace("_", " ")
        return respond(kind, message, dict(exc.headers or {}))

    @app.exception_handler(Exception)
    async def _unexpected(_request, exc: Exception):
        log.exception("unhandled error", exc_info=exc)
        return respond(
            ErrorType.INTERNAL, "internal error; see the service log for this request id"
        )
