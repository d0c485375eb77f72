"""The RateLimit-* headers on every answer of a rate-limited route.

`guard` (and the extra cost of a generating request) record where the caller's window stands;
`RateLimitHeadersMiddleware` writes it into the answer, whatever made it: a model, a relayed
library response, an image, or an error raised after the count (the 429 itself carries them too).
The record lives in the request's scope state, which the middleware shares with the route.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request

from gateway.security import RateLimitStatus

_STATE_KEY = "rate_limit"


def remember_rate_limit(request: Request, status: RateLimitStatus | None) -> None:
    """Keep the latest standing of the caller's window for the answer's headers."""
    if status is not None:
        setattr(request.state, _STATE_KEY, status)


class RateLimitHeadersMiddleware:
    """Pure ASGI: adds RateLimit-Limit/Remaining/Reset when the route counted the request."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_limits(message: dict) -> None:
            status = (scope.get("state") or {}).get(_STATE_KEY)
            if message["type"] == "http.response.start" and status is not None:
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                for name, value in status.headers().items():
                    if name.lower().encode() not in present:
                        headers.append((name.lower().encode(), value.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_limits)
