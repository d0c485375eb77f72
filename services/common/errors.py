"""The error envelope every service answers with, and the one place where errors meet HTTP.

Every non-2xx body is `{"error": {"type", "message", "request_id"}}`; a validation error also lists
each problem in `details: [{loc, message, type}]` (the message joins the first few). Two kinds of refusal reach it:

- domain exceptions (`InvalidInputError`, `NotFoundError`, `QuotaExceededError`, `BusyError`,
  `OutOfGpuMemoryError`, `NotLoadedError`, `BreakerOpenError`, `NoJobStoreError`,
  `StoreUnavailableError`, `IdempotencyMismatchError`): what engines, stores and the code around them raise. They know nothing of HTTP; `DOMAIN_ERRORS`
  below maps each to an error type, and `STATUS` each type to a status. A plain `ValueError` is an
  engine's argument check, so it maps as `InvalidInputError` does: a 422, never a 500.
- `ServiceError`: raised by HTTP-facing code (routes, auth, the gateway's upstream clients) that
  already speaks in error types, and may need headers of its own (`WWW-Authenticate`).

`to_service_error` is the one translation; the HTTP handlers and the job runner (services/common/jobs.py)
both use it, so a refusal reads the same whether it came back synchronously or in a job record. Any
other exception is a bug: it answers `internal` (500) with a sanitised message and its trace in the log.
"""

from __future__ import annotations

import logging
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field, ValidationError

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
    NOT_READY = "not_ready"  # still loading (or loading failed)
    BREAKER_OPEN = "breaker_open"  # an upstream keeps failing; the gateway refuses without calling
    OUT_OF_MEMORY = "out_of_memory"  # the GPU ran out of memory for this request
    NO_JOB_STORE = "no_job_store"  # jobs need Redis: not configured, or not answering
    STORE_UNAVAILABLE = "store_unavailable"  # the design library's database or files do not answer
    IDEMPOTENCY_MISMATCH = "idempotency_mismatch"  # an Idempotency-Key reused with another body
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
    ErrorType.BREAKER_OPEN: 503,
    ErrorType.OUT_OF_MEMORY: 503,
    ErrorType.NO_JOB_STORE: 503,
    ErrorType.STORE_UNAVAILABLE: 503,
    ErrorType.IDEMPOTENCY_MISMATCH: 422,
    ErrorType.UPSTREAM: 502,
    ErrorType.UPSTREAM_TIMEOUT: 504,
    ErrorType.INTERNAL: 500,
}
_TYPE_BY_STATUS = {status: kind for kind, status in STATUS.items()}
_TYPE_BY_STATUS[400] = _TYPE_BY_STATUS[422] = ErrorType.VALIDATION  # a bare 422 is a validation


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
    """A refusal in the engine's terms. `retry_after_s`, when set, is how soon a retry may work
    (the mapping sends it as `Retry-After`); otherwise the table's default for the type applies."""

    def __init__(self, message: str, *, retry_after_s: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after_s = retry_after_s


class InvalidInputError(DomainError, ValueError):
    """The request is well-formed but this engine cannot do it (a ValueError, so checks that
    catch ValueError keep working)."""


class NotFoundError(DomainError, LookupError):
    """The thing the request names does not exist (an adapter, an index directory, a design)."""


class QuotaExceededError(DomainError):
    """The owner's library is full."""


class BusyError(DomainError):
    """Too much work is in flight or queued; retry later."""


class OutOfGpuMemoryError(DomainError):
    """The accelerator ran out of memory for this request; the engine has freed it and serves on."""


class NotLoadedError(DomainError):
    """Models or the index are not loaded yet (or failed to load)."""


class BreakerOpenError(DomainError):
    """An upstream failed repeatedly; calls to it are refused until its next probe."""


class NoJobStoreError(DomainError):
    """Jobs need a job store (Redis) that is not configured or not answering."""


class StoreUnavailableError(DomainError):
    """A database or file store that does not answer: try again later."""


class IdempotencyMismatchError(DomainError):
    """An idempotency key already answered a different request body."""


def quoted(value: object, limit: int = 64) -> str:
    """`value` for an error message: its repr, cut to `limit` characters. A client that sends a
    10 kB id gets a message, not its id echoed back in full."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


# The one table: domain exception -> (error type, default Retry-After seconds or None).
DOMAIN_ERRORS: dict[type[DomainError], tuple[ErrorType, int | None]] = {
    InvalidInputError: (ErrorType.VALIDATION, None),
    NotFoundError: (ErrorType.NOT_FOUND, None),
    QuotaExceededError: (ErrorType.QUOTA_EXCEEDED, None),
    BusyError: (ErrorType.OVERLOADED, 1),
    OutOfGpuMemoryError: (ErrorType.OUT_OF_MEMORY, 5),
    NotLoadedError: (ErrorType.NOT_READY, 5),
    BreakerOpenError: (ErrorType.BREAKER_OPEN, 5),
    NoJobStoreError: (ErrorType.NO_JOB_STORE, None),
    StoreUnavailableError: (ErrorType.STORE_UNAVAILABLE, 5),
    IdempotencyMismatchError: (ErrorType.IDEMPOTENCY_MISMATCH, None),
}


def to_service_error(exc: BaseException) -> ServiceError | None:
    """The envelope error for a refusal, or None when `exc` is a bug (an internal error)."""
    if isinstance(exc, ServiceError):
        return exc
    if isinstance(exc, DomainError):
        for cls in type(exc).__mro__:
            if cls in DOMAIN_ERRORS:
                kind, default_retry = DOMAIN_ERRORS[cls]
                break
        else:
            return None
        retry = exc.retry_after_s if exc.retry_after_s is not None else default_retry
        headers = {"Retry-After": str(retry)} if retry is not None else None
        return ServiceError(kind, exc.message, headers=headers)
    # A plain ValueError is an argument check that no domain exception wraps yet. Pydantic's
    # ValidationError is a ValueError too, but one raised here is our own model failing: a bug.
    if isinstance(exc, ValueError) and not isinstance(exc, ValidationError):
        return ServiceError(ErrorType.VALIDATION, str(exc))
    return None


# Problems listed in `details` (the joined message names the first few).
MAX_DETAILS = 50
_MESSAGE_PROBLEMS = 5


class Problem(BaseModel):
    """One thing wrong with a request, as pydantic saw it."""

    loc: list[str | int] = Field(
        description="Where: `body` (or `query`, `path`, `header`) and the field's path in it."
    )
    message: str = Field(description="What is wrong, in words.")
    type: str = Field(description="pydantic's error type, e.g. `missing`, `less_than_equal`.")


class ErrorDetail(BaseModel):
    type: ErrorType = Field(description="What kind of error; its status is the table's.")
    message: str = Field(description="What went wrong, for a person (not for parsing).")
    request_id: str | None = Field(None, description="The request's X-Request-ID, for the logs.")
    details: list[Problem] = Field(
        default_factory=list,
        description="Validation errors only (always there): each problem (at most 50); the "
        "message joins the first five. Absent for other errors.",
    )


class ErrorBody(BaseModel):
    error: ErrorDetail


def error_payload(
    type: ErrorType, message: str, details: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    error: dict[str, Any] = {
        "type": str(type),
        "message": message,
        "request_id": current_request_id(),
    }
    if type is ErrorType.VALIDATION and details is None:
        # A refusal by an engine or a route check: one problem, located nowhere more precise.
        details = [{"loc": [], "message": message, "type": "value_error"}]
    if details is not None:
        error["details"] = details
    return {"error": error}


def error_responses(*types: ErrorType) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` for a route: each listed error type with the envelope schema."""
    always = (ErrorType.VALIDATION, ErrorType.INTERNAL)
    by_status: dict[int, list[ErrorType]] = {}
    for t in dict.fromkeys((*types, *always)):
        by_status.setdefault(STATUS[t], []).append(t)  # 503 has several types
    return {
        status: {
            "model": ErrorBody,
            "description": " or ".join(f"`{t}`" for t in kinds) + " error",
            # One example per type, kept once in components.examples (services/common/openapi.py).
            "content": {"application/json": {"examples": {t.value: example_ref(t) for t in kinds}}},
        }
        for status, kinds in by_status.items()
    }


# What each error type says in the OpenAPI examples (a typical message of the type).
_EXAMPLE_MESSAGES = {
    ErrorType.VALIDATION: "top_k: Input should be less than or equal to 20",
    ErrorType.PAYLOAD_TOO_LARGE: "image is larger than the 10485760 byte limit",
    ErrorType.UNSUPPORTED_MEDIA: "image: not a PNG, JPEG or WebP file",
    ErrorType.NOT_FOUND: "no job '0f3c6a1e2b4d4e8f9a7b6c5d4e3f2a1b' (unknown, or expired)",
    ErrorType.QUOTA_EXCEEDED: "the library holds at most 10000 designs per owner",
    ErrorType.METHOD_NOT_ALLOWED: "method not allowed",
    ErrorType.UNAUTHORIZED: "an API key is required: send it in the X-API-Key header",
    ErrorType.FORBIDDEN: "this API key is not accepted",
    ErrorType.OVERLOADED: "rate limit of 60 requests per 60 s reached; retry in 12 s",
    ErrorType.NOT_READY: "models are still loading",
    ErrorType.BREAKER_OPEN: "captioning is failing; calls resume after a probe in 5 s",
    ErrorType.OUT_OF_MEMORY: "the GPU ran out of memory for this request",
    ErrorType.NO_JOB_STORE: "RAG jobs need Redis and GATEWAY_REDIS_URL is not set",
    ErrorType.STORE_UNAVAILABLE: "the design library does not answer",
    ErrorType.IDEMPOTENCY_MISMATCH: "this Idempotency-Key was used with another request body in "
    "the last 24 h: use a new key for a new request",
    ErrorType.UPSTREAM: "generation answered 500",
    ErrorType.UPSTREAM_TIMEOUT: "generation did not answer within 120 s",
    ErrorType.INTERNAL: "internal error; see the service log for this request id",
}


def example_ref(kind: ErrorType) -> dict[str, str]:
    return {"$ref": f"#/components/examples/error_{kind.value}"}


def error_examples() -> dict[str, dict[str, Any]]:
    """components.examples: an envelope of each error type."""
    return {f"error_{kind.value}": error_example(kind) for kind in ErrorType}


def error_example(kind: ErrorType) -> dict[str, Any]:
    error: dict[str, Any] = {
        "type": kind.value,
        "message": _EXAMPLE_MESSAGES[kind],
        "request_id": "4f0c2a9e8b7d4c31a2e5f6b7c8d9e0f1",
    }
    if kind is ErrorType.VALIDATION:
        error["details"] = [
            {
                "loc": ["body", "top_k"],
                "message": "Input should be less than or equal to 20",
                "type": "less_than_equal",
            }
        ]
    return {"summary": kind.value, "value": {"error": error}}


def _problems(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """pydantic's errors as `details`: where, what, and its type (never the input echoed back)."""
    return [
        {
            "loc": [p if isinstance(p, int) else str(p) for p in err.get("loc", ())],
            "message": "request body is not valid JSON"
            if err.get("type") == "json_invalid"
            else str(err.get("msg", "invalid value")),
            "type": str(err.get("type", "value_error")),
        }
        for err in errors[:MAX_DETAILS]
    ]


def _format_validation(errors: list[dict[str, Any]]) -> str:
    parts = []
    for err in errors[:_MESSAGE_PROBLEMS]:
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
    from fastapi.responses import JSONResponse, Response
    from starlette.exceptions import HTTPException as StarletteHTTPException

    from services.common.disconnect import CLIENT_CLOSED_REQUEST, ClientDisconnected

    def respond(
        type: ErrorType,
        message: str,
        headers: dict[str, str] | None = None,
        details: list[dict[str, Any]] | None = None,
    ):
        return JSONResponse(
            error_payload(type, message, details), status_code=STATUS[type], headers=headers
        )

    @app.exception_handler(ServiceError)
    async def _service_error(_request, exc: ServiceError):
        if exc.type is ErrorType.INTERNAL:
            log.error("internal error: %s", exc.message)
        return respond(exc.type, exc.message, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request, exc: RequestValidationError):
        errors = list(exc.errors())
        return respond(ErrorType.VALIDATION, _format_validation(errors), details=_problems(errors))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request, exc: StarletteHTTPException):
        kind = _TYPE_BY_STATUS.get(exc.status_code, ErrorType.INTERNAL)
        message = exc.detail if isinstance(exc.detail, str) else kind.value.replace("_", " ")
        return respond(kind, message, dict(exc.headers or {}))

    async def _client_gone(_request, _exc: ClientDisconnected):
        # Nobody reads it; the access log and the request metrics show the hang-up.
        return Response(status_code=CLIENT_CLOSED_REQUEST)

    # Registered by class, so they run inside the middleware stack (request id, metrics) like the
    # ServiceError handler; the catch-all below sits outside it.
    async def _domain_error(_request, exc: Exception):
        refusal = to_service_error(exc)
        if refusal is None:  # a pydantic ValidationError of our own models: a bug
            return await _unexpected(_request, exc)
        return respond(refusal.type, refusal.message, refusal.headers)

    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(ClientDisconnected, _client_gone)
    app.add_exception_handler(ValueError, _domain_error)

    @app.exception_handler(Exception)
    async def _unexpected(_request, exc: Exception):
        log.exception("unhandled error", exc_info=exc)
        return respond(ErrorType.INTERNAL, _INTERNAL_MESSAGE)

    # Innermost of the app's middleware (added first): see InternalErrorMiddleware.
    app.add_middleware(InternalErrorMiddleware)


_INTERNAL_MESSAGE = "internal error; see the service log for this request id"


class InternalErrorMiddleware:
    """An exception no handler took becomes the 500 envelope here, inside the request-id
    middleware, so the answer carries its `X-Request-ID` and names it in `request_id`. Starlette
    runs the `Exception` handler in its outermost layer, after every middleware has unwound and the
    id is gone (the answer had no header and `request_id: null`)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: dict) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            if started:  # too late for an envelope: the server closes the connection
                raise
            log.exception("unhandled error")
            from fastapi.responses import JSONResponse

            payload = error_payload(ErrorType.INTERNAL, _INTERNAL_MESSAGE)
            await JSONResponse(payload, status_code=STATUS[ErrorType.INTERNAL])(
                scope, receive, send
            )
