"""Admin routes: `Authorization: Bearer <token>` checked against the service's `admin_token` setting.

With no token configured the route is off (401 saying which setting turns it on)."""

from __future__ import annotations

import hmac
from collections.abc import Callable

from fastapi import Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.common.errors import ErrorType, ServiceError

# Declares the scheme in OpenAPI; never raises itself (require_admin answers in the envelope).
ADMIN_BEARER = HTTPBearer(
    scheme_name="AdminBearer",
    description="The service's admin token (its *_ADMIN_TOKEN setting).",
    auto_error=False,
)


def admin_guard(what: str, setting: str) -> Callable[..., None]:
    """A FastAPI dependency for `what` (e.g. "index reload"), enabled by the env var `setting`."""

    def require_admin(
        request: Request,
        credentials: HTTPAuthorizationCredentials | None = Security(ADMIN_BEARER),
    ) -> None:
        token = request.app.state.settings.admin_token
        challenge = {"WWW-Authenticate": "Bearer"}
        if token is None or not token.get_secret_value():
            raise ServiceError(
                ErrorType.UNAUTHORIZED,
                f"{what} is disabled: set {setting} on the service",
                headers=challenge,
            )
        given = credentials.credentials if credentials is not None else ""
        expected = token.get_secret_value().encode()
        if not hmac.compare_digest(given.strip().encode(), expected):
            raise ServiceError(
                ErrorType.UNAUTHORIZED, "missing or wrong admin bearer token", headers=challenge
            )

    return require_admin
