"""The OpenAPI document every service serves, made precise enough to generate clients from.

FastAPI writes the paths and schemas from the routes and the contracts; `refine` adds what it cannot
know, in one pass over the document:

- operation ids: each route declares a short one (`operation_id="createJob"`); an internal service
  prefixes its own (`generationCreateJob`), so the five specs merge without a clash;
- security: the schemes the routes' dependencies declare (the gateway's `X-API-Key` and bearer) become
  the global `security`; a route without them (health, metrics) is marked open with `security: []`;
- response headers, as components: `X-Request-ID` on every answer, `Retry-After` on 429 and 503,
  `Location` on 202, and `RateLimit-Limit/Remaining/Reset` on every answer of a rate-limited route;
- `format: binary` beside `contentMediaType` for uploads, which generators of OpenAPI 3.0 clients read.

`install_openapi(app, prefix=...)` replaces `app.openapi` with the refined document (built once).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, get_args

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from services.common.contracts.examples import examples
from services.common.errors import error_examples

# Media types of binary answers and uploads: a string of bytes.
BINARY = {"type": "string", "format": "binary"}
OPERATION_ID = re.compile(r"[a-z][A-Za-z0-9]*")

HEADERS: dict[str, dict[str, Any]] = {
    "X-Request-ID": {
        "description": "The request's id: the one sent (when valid) or a new one. Every log line "
        "of every service that handled the request carries it; error bodies repeat it.",
        "schema": {"type": "string", "example": "4f0c2a9e8b7d4c31a2e5f6b7c8d9e0f1"},
    },
    "Retry-After": {
        "description": "Seconds after which a retry may succeed.",
        "schema": {"type": "integer", "minimum": 0, "example": 5},
    },
    "Location": {
        "description": "Where to poll the job this answer accepted.",
        "schema": {"type": "string", "example": "/v1/jobs/0f3c6a1e2b4d4e8f9a7b6c5d4e3f2a1b"},
    },
    "RateLimit-Limit": {
        "description": "Units this key may spend per window (a request counts 1; a generating "
        "one its steps x pixels cost).",
        "schema": {"type": "integer", "minimum": 0, "example": 60},
    },
    "RateLimit-Remaining": {
        "description": "Units left in the current window.",
        "schema": {"type": "integer", "minimum": 0, "example": 59},
    },
    "RateLimit-Reset": {
        "description": "Seconds until the current window ends and the count starts again.",
        "schema": {"type": "integer", "minimum": 0, "example": 42},
    },
}


def _named_enums() -> dict[str, dict[str, Any]]:
    """The contracts' shared Literal types, as named schemas: a generated client gets one `Symmetry`
    type instead of one anonymous enum per field that uses it."""
    from services.common.contracts.gateway import Degraded, InitSource, ResponseFormat, Stage
    from services.common.contracts.generation import (
        RepeatName,
        SchedulerName,
        SeamlessRepeatName,
        SymmetryName,
    )
    from services.common.errors import ErrorType
    from services.common.jobs import JobState

    described = {
        "JobState": (JobState, "Where a job is: queued, running, or one of the three ends."),
        "Stage": (Stage, "A stage of the RAG flow."),
        "DegradedStage": (Degraded, "What an answer was made without (a stage, or the library)."),
        "Symmetry": (
            SymmetryName,
            "The symmetry group a motif grows with (auto: the strongest group the init image has).",
        ),
        "InitSource": (
            InitSource,
            "Where img2img starts: the top reference, the query image, or nowhere (txt2img).",
        ),
        "Scheduler": (SchedulerName, "A diffusion sampler."),
        "SeamlessRepeat": (
            SeamlessRepeatName,
            "The repeat a generated tile is seamless in: full (a plain grid), half_drop (every "
            "other column down by half the tile), half_brick (every other row right by half).",
        ),
        "ResponseFormat": (
            ResponseFormat,
            "How an answer carries its images: inline base64 PNG, or signed expiring URLs.",
        ),
        "Repeat": (
            RepeatName,
            "How a tile is laid out on cloth: a seamless repeat, mirror (alternate tiles mirrored) "
            "or none (one tile).",
        ),
    }
    named = {
        name: {"type": "string", "enum": list(get_args(kind)), "title": name, "description": text}
        for name, (kind, text) in described.items()
    }
    named["ErrorType"] = {
        "type": "string",
        "enum": [t.value for t in ErrorType],
        "title": "ErrorType",
        "description": "What kind of error; each has one HTTP status (docs/API.md).",
    }
    return named


def _name_enums(spec: dict[str, Any]) -> None:
    """Replace every inline enum whose values are a named enum's by a reference to it, in the
    schemas and in the parameters, and add the named ones that are used."""
    named = _named_enums()
    by_values = {frozenset(e["enum"]): name for name, e in named.items()}
    used: set[str] = set()

    def visit(node: Any, inside: str | None) -> Any:
        if isinstance(node, dict):
            values = node.get("enum")
            if isinstance(values, list) and frozenset(values) in by_values:
                name = by_values[frozenset(values)]
                if name != inside:
                    used.add(name)
                    rest = {k: v for k, v in node.items() if k not in ("enum", "type", "title")}
                    return {"$ref": f"#/components/schemas/{name}", **rest}
            if node.get("$ref", "").rsplit("/", 1)[-1] in named:
                used.add(node["$ref"].rsplit("/", 1)[-1])
            return {k: visit(v, inside) for k, v in node.items()}
        if isinstance(node, list):
            return [visit(v, inside) for v in node]
        return node

    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    for name in list(schemas):
        schemas[name] = visit(schemas[name], name)
    spec["paths"] = visit(spec.get("paths", {}), None)
    for name in sorted(used):
        schemas[name] = named[name]


RATE_LIMIT_HEADERS = ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset")
_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def operations(spec: dict[str, Any]):
    """(path, method, operation) of every operation in `spec`."""
    for path, item in spec.get("paths", {}).items():
        for method, operation in item.items():
            if method in _METHODS:
                yield path, method, operation


def _declare_headers(operation: dict[str, Any], rate_limited: bool) -> None:
    for status, response in operation.get("responses", {}).items():
        headers = response.setdefault("headers", {})
        # A reference cannot carry `required`: the component says what the header is, this says
        # that the answer always has it.
        headers["X-Request-ID"] = {"$ref": "#/components/headers/X-Request-ID"}
        if status in ("429", "503"):
            headers["Retry-After"] = {"$ref": "#/components/headers/Retry-After"}
        if status == "202":
            headers["Location"] = {"$ref": "#/components/headers/Location"}
        if rate_limited:
            for name in RATE_LIMIT_HEADERS:
                headers[name] = {"$ref": f"#/components/headers/{name}"}


def _binary_answers(operation: dict[str, Any]) -> None:
    """An image (or other bytes) answered without a schema gets the binary string one."""
    for response in operation.get("responses", {}).values():
        for media_type, content in response.get("content", {}).items():
            if media_type.startswith("image/") and not content.get("schema"):
                content["schema"] = dict(BINARY)


def _binary_uploads(schemas: dict[str, Any]) -> None:
    """`format: binary` on every upload property (FastAPI writes only `contentMediaType`)."""

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("contentMediaType") == "application/octet-stream":
                node.setdefault("format", "binary")
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(schemas)


def refine(spec: dict[str, Any], *, prefix: str = "") -> dict[str, Any]:
    """The document with operation ids prefixed, security made global, headers declared."""
    components = spec.setdefault("components", {})
    components["headers"] = HEADERS
    components["examples"] = error_examples()
    schemes = components.get("securitySchemes", {})
    # The gateway's guard declares its schemes on every guarded route: they are the global rule.
    everyone = [{name: []} for name in schemes if name in ("ApiKeyAuth", "BearerAuth")]
    if everyone:
        spec["security"] = everyone
    for _path, _method, operation in operations(spec):
        short = operation["operationId"]
        operation["operationId"] = prefix + short[0].upper() + short[1:] if prefix else short
        guarded = operation.get("security") == everyone and bool(everyone)
        if everyone:
            if guarded:
                del operation["security"]  # the global rule
            elif "security" not in operation:
                operation["security"] = []
        _declare_headers(operation, rate_limited=guarded)
        _binary_answers(operation)
    schemas = components.get("schemas", {})
    _binary_uploads(schemas)
    _name_enums(spec)
    for model, example in examples().items():
        if model.__name__ in schemas:
            schemas[model.__name__].setdefault("examples", [example])
    return spec


def check_operation_ids(app: FastAPI) -> None:
    """Every route names its operation (short, camelCase): ids are the clients' method names and
    must not change when a handler is renamed."""
    for route in app.routes:
        if getattr(route, "include_in_schema", False):
            given = getattr(route, "operation_id", None)
            if given is None or not OPERATION_ID.fullmatch(given):
                raise ValueError(
                    f"route {route.path} needs operation_id= (camelCase), has {given!r}"
                )


def install_openapi(app: FastAPI, *, prefix: str = "") -> Callable[[], dict[str, Any]]:
    """Serve the refined document at /openapi.json (built on first use, then kept)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            check_operation_ids(app)
            spec = get_openapi(
                title=app.title,
                version=app.version,
                openapi_version=app.openapi_version,
                description=app.description,
                routes=app.routes,
            )
            app.openapi_schema = refine(spec, prefix=prefix)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return openapi
