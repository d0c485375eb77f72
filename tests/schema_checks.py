"""The project's own schemathesis check, registered once for every file that runs schemathesis
(registering a check twice in one session is an error)."""

from __future__ import annotations

import schemathesis

from services.common.errors import STATUS, ErrorType


@schemathesis.check
def error_envelope(ctx, response, case) -> bool | None:
    """Every non-2xx/3xx body is the envelope, its type's status, and the request's id; a
    validation error lists each problem in `details`, and no other type has them."""
    if response.status_code < 400:
        return None
    body = response.json()
    assert set(body) == {"error"}, f"not the envelope: {body}"
    error = body["error"]
    assert set(error) - {"details"} == {"type", "message", "request_id"}, error
    assert ("details" in error) == (error["type"] == "validation"), error
    kind = ErrorType(error["type"])
    assert STATUS[kind] == response.status_code, f"{kind} answered with {response.status_code}"
    assert error["message"], error
    assert error["request_id"] == response.headers["x-request-id"][0], error
    return None
