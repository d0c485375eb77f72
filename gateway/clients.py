"""Typed HTTP clients for the three upstream services.

One `httpx.AsyncClient` per upstream with its own timeouts. `UpstreamClient.request` is the one place
where transport failures and non-2xx answers become errors of the envelope: an upstream's client error
(4xx) keeps its type, since the caller's input caused it; its 5xx and transport failures become
`upstream` (502) and timeouts `upstream_timeout` (504). Only idempotent calls are retried. Each client
has a circuit breaker (`gateway/breaker.py`) that sees one outcome per call, after its retries.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx

from gateway.breaker import CircuitBreaker
from services.common.contracts.captioning import CaptionRequest, CaptionResponse
from services.common.contracts.generation import GenerateRequest, GenerateResponse
from services.common.contracts.retrieval import SearchRequest, SearchResponse
from services.common.errors import ErrorType, ServiceError
from services.common.logging import REQUEST_ID_HEADER, current_request_id

log = logging.getLogger(__name__)
_RETRYABLE_STATUS = {502, 503, 504}


def _envelope(response: httpx.Response) -> tuple[ErrorType | None, str]:
    try:
        error = response.json()["error"]
        return ErrorType(error["type"]), str(error["message"])
    except (ValueError, KeyError, TypeError):
        return None, response.text[:200]


class UpstreamClient:
    def __init__(
        self,
        name: str,
        base_url: str,
        *,
        read_timeout_s: float,
        connect_timeout_s: float,
        retries: int,
        backoff_s: float = 0.2,
        transport: httpx.AsyncBaseTransport | None = None,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self.name = name
        self.base_url = base_url
        self.timeout_s = read_timeout_s
        self.retries = retries
        self.backoff_s = backoff_s
        self.breaker = breaker or CircuitBreaker(name)
        self.http = httpx.AsyncClient(
            base_url=base_url,
            timeout=httpx.Timeout(read_timeout_s, connect=connect_timeout_s),
            transport=transport,
        )

    async def request(
        self, method: str, path: str, *, idempotent: bool = True, **kwargs: Any
    ) -> httpx.Response:
        self.breaker.before_call()
        try:
            response = await self._attempts(method, path, idempotent=idempotent, **kwargs)
        except ServiceError as exc:
            if exc.type in (ErrorType.UPSTREAM, ErrorType.UPSTREAM_TIMEOUT):
                self.breaker.record_failure()
            else:
                self.breaker.record_success()  # a 4xx or 429: the upstream is alive
            raise
        except BaseException:
            self.breaker.release()
            raise
        self.breaker.record_success()
        return response

    async def _attempts(
        self, method: str, path: str, *, idempotent: bool, **kwargs: Any
    ) -> httpx.Response:
        headers = {REQUEST_ID_HEADER: current_request_id() or ""}
        attempts = 1 + (self.retries if idempotent else 0)
        for attempt in range(1, attempts + 1):
            last = attempt == attempts
            try:
                response = await self.http.request(method, path, headers=headers, **kwargs)
            except httpx.TimeoutException:
                if last:
                    raise ServiceError(
                        ErrorType.UPSTREAM_TIMEOUT,
                        f"{self.name} did not answer within {self.timeout_s:g} s",
                    ) from None
            except httpx.TransportError as exc:
                if last:
                    raise ServiceError(
                        ErrorType.UPSTREAM,
                        f"{self.name} is unreachable ({exc.__class__.__name__})",
                    ) from None
            else:
                if response.is_success:
                    return response
                if response.status_code not in _RETRYABLE_STATUS or last:
                    raise self._error_from(response)
            log.warning(
                "%s %s failed (attempt %d/%d); retrying", self.name, path, attempt, attempts
            )
            await asyncio.sleep(self.backoff_s * 2 ** (attempt - 1))
        raise AssertionError("unreachable")

    def _error_from(self, response: httpx.Response) -> ServiceError:
        kind, message = _envelope(response)
        status = response.status_code
        if 400 <= status < 500 and kind is not None:
            headers = {k: v for k, v in response.headers.items() if k.lower() == "retry-after"}
            return ServiceError(kind, f"{self.name}: {message}", headers=headers)
        return ServiceError(ErrorType.UPSTREAM, f"{self.name} answered {status}: {message}")

    async def readiness(self) -> dict[str, Any] | None:
        """The upstream's /readyz body, or None when it is not ready or not reachable."""
        try:
            response = await self.http.get("/readyz", timeout=2.0)
        except httpx.HTTPError:
            return None
        return response.json() if response.is_success else None

    async def aclose(self) -> None:
        await self.http.aclose()


class RetrievalClient(UpstreamClient):
    async def search(self, request: SearchRequest) -> SearchResponse:
        response = await self.request(
            "POST", "/v1/search", json=request.model_dump(exclude_none=True)
        )
        return SearchResponse.model_validate_json(response.content)

    async def image(self, item_id: int, size: int = 512) -> bytes:
        response = await self.request("GET", f"/v1/images/{item_id}", params={"size": size})
        return response.content


class CaptioningClient(UpstreamClient):
    async def caption(self, request: CaptionRequest) -> CaptionResponse:
        response = await self.request(
            "POST", "/v1/caption", json=request.model_dump(exclude_none=True)
        )
        return CaptionResponse.model_validate_json(response.content)


class GenerationClient(UpstreamClient):
    async def generate(self, request: GenerateRequest) -> GenerateResponse:
        # Not retried: a generation is expensive, and a timeout usually means it is still running.
        response = await self.request(
            "POST", "/v1/generate", idempotent=False, json=request.model_dump(exclude_none=True)
        )
        return GenerateResponse.model_validate_json(response.content)
