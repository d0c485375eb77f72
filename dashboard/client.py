"""The dashboard's client of the gateway: one call per RAG query, errors as readable values.

`run_query` is the one place the dashboard asks for an answer. Today it calls `POST /v1/rag` (or
`/v1/rag/upload` with an image) and waits; when the gateway offers jobs, it will submit one and report
each stage through `progress` while polling, and the page will not change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import httpx

from services.common.contracts.gateway import RagResponse

# stage name ("retrieval", "captioning", "fusion", "generation") and fraction done, when known
Progress = Callable[[str, float | None], None]


@dataclass(frozen=True)
class Query:
    text: str | None = None
    image: bytes | None = None
    image_name: str = "query.png"
    top_k: int = 5
    strength: float = 0.55
    guidance_scale: float = 7.5
    steps: int = 30
    seed: int | None = None
    negative_prompt: str | None = None
    tile: bool = False
    symmetry: str = "none"
    preview_repeat: bool = False

    def fields(self) -> dict[str, object]:
        values = {
            "text": self.text,
            "top_k": self.top_k,
            "strength": self.strength,
            "guidance_scale": self.guidance_scale,
            "steps": self.steps,
            "seed": self.seed,
            "negative_prompt": self.negative_prompt,
            "tile": self.tile or None,
            "symmetry": self.symmetry if self.symmetry != "none" else None,
            "preview_repeat": self.preview_repeat or None,
        }
        return {k: v for k, v in values.items() if v not in (None, "")}


class GatewayError(Exception):
    """What went wrong, in the gateway's own words (`type` from its error table)."""

    def __init__(
        self,
        type: str,
        message: str,
        *,
        status: int | None = None,
        request_id: str | None = None,
        retry_after: str | None = None,
    ) -> None:
        super().__init__(message)
        self.type = type
        self.message = message
        self.status = status
        self.request_id = request_id
        self.retry_after = retry_after


class GatewayClient:
    def __init__(self, base_url: str, api_key: str | None = None, timeout_s: float = 600.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.headers = {"X-API-Key": api_key} if api_key else {}
        self.timeout = httpx.Timeout(timeout_s, connect=5.0)

    def _send(self, method: str, path: str, **kwargs) -> httpx.Response:
        try:
            with httpx.Client(
                base_url=self.base_url, headers=self.headers, timeout=self.timeout
            ) as http:
                response = http.request(method, path, **kwargs)
        except httpx.TimeoutException:
            raise GatewayError(
                "timeout", f"the gateway did not answer within {self.timeout.read:g} s"
            ) from None
        except httpx.TransportError as exc:
            raise GatewayError(
                "unreachable",
                f"cannot reach the gateway at {self.base_url} ({exc.__class__.__name__})",
            ) from None
        if response.is_success:
            return response
        try:
            error = response.json()["error"]
            kind, message, request_id = error["type"], error["message"], error.get("request_id")
        except (ValueError, KeyError, TypeError):
            kind, message, request_id = "http", f"HTTP {response.status_code}", None
        raise GatewayError(
            kind,
            message,
            status=response.status_code,
            request_id=request_id or response.headers.get("x-request-id"),
            retry_after=response.headers.get("retry-after"),
        )

    def rag(self, query: Query) -> RagResponse:
        if query.image is not None:
            response = self._send(
                "POST",
                "/v1/rag/upload",
                files={"image": (query.image_name, query.image)},
                data={k: str(v) for k, v in query.fields().items()},
            )
        else:
            response = self._send("POST", "/v1/rag", json=query.fields())
        return RagResponse.model_validate_json(response.content)

    def reference_image(self, item_id: int, size: int = 224) -> bytes | None:
        """A reference photo, or None when it cannot be had (the cards show text alone then)."""
        try:
            return self._send("GET", f"/v1/images/{item_id}", params={"size": size}).content
        except GatewayError:
            return None


def run_query(client: GatewayClient, query: Query, progress: Progress | None = None) -> RagResponse:
    """One RAG answer for `query`. Synchronous for now; `progress` is for the job API to come."""
    return client.rag(query)
