"""Typed HTTP clients for the three upstream services.

One `httpx.AsyncClient` per upstream with its own timeouts. `UpstreamClient.request` is the one place
where transport failures and non-2xx answers become errors of the envelope: an upstream's client error
(4xx) keeps its type, since the caller's input caused it; its 5xx and transport failures become
`upstream` (502) and timeouts `upstream_timeout` (504). Only idempotent calls are retried, and never
after a timeout: an upstream that did not answer in time is hung or overloaded, and asking again only
multiplies the wait (issue 16, finding 5). Each client has a circuit breaker (`gateway/breaker.py`) that
sees one outcome per call, after its retries; a timeout ends the call, so it is counted at that moment.
Inside a RAG request (`gateway/deadline.py`) each call waits at most the request's time left.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol

import httpx

from gateway.breaker import BreakerState, CircuitBreaker
from gateway.deadline import time_left
from gateway.ports import ProgressReporter
from services.common.contracts.captioning import CaptionRequest, CaptionResponse
from services.common.contracts.generation import (
    GenerateRequest,
    GenerateResponse,
    GenerationJob,
    StyleList,
    UpscaleRequest,
    UpscaleResponse,
)
from services.common.contracts.library import (
    ADMIN_HEADER,
    OWNER_HEADER,
    Design,
    DesignCreate,
    NearestRequest,
    NearestResponse,
)
from services.common.contracts.retrieval import (
    EmbedRequest,
    EmbedResponse,
    SearchRequest,
    SearchResponse,
)
from services.common.errors import ErrorType, ServiceError
from services.common.images import to_base64
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
        self.connect_timeout_s = connect_timeout_s
        self.retries = retries
        self.backoff_s = backoff_s
        self.breaker = breaker or CircuitBreaker(name)
        self.http = httpx.AsyncClient(
            base_url=base_url,
            timeout=httpx.Timeout(read_timeout_s, connect=connect_timeout_s),
            transport=transport,
        )

    async def request(
        self,
        method: str,
        path: str,
        *,
        idempotent: bool = True,
        headers: dict[str, str] | None = None,
        accept: frozenset[int] = frozenset(),
        **kwargs: Any,
    ) -> httpx.Response:
        """`accept`: non-2xx statuses that are answers, not errors (e.g. 304 Not Modified)."""
        if time_left() == 0:
            # Not the upstream's fault: no call, and nothing for its breaker to count.
            raise ServiceError(
                ErrorType.UPSTREAM_TIMEOUT, f"{self.name} not called: the request's deadline passed"
            )
        self.breaker.before_call()
        try:
            response = await self._attempts(
                method, path, idempotent=idempotent, headers=headers, accept=accept, **kwargs
            )
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
        self,
        method: str,
        path: str,
        *,
        idempotent: bool,
        headers: dict[str, str] | None,
        accept: frozenset[int],
        **kwargs: Any,
    ) -> httpx.Response:
        headers = {**(headers or {}), REQUEST_ID_HEADER: current_request_id() or ""}
        attempts = 1 + (self.retries if idempotent else 0)
        for attempt in range(1, attempts + 1):
            last = attempt == attempts
            left = time_left()
            wait_s = self.timeout_s if left is None else min(self.timeout_s, left)
            try:
                # httpx's read timeout is per socket read; the asyncio one bounds the whole call by the
                # request's deadline (None: no bound beyond httpx's).
                async with asyncio.timeout(left):
                    response = await self.http.request(
                        method,
                        path,
                        headers=headers,
                        timeout=httpx.Timeout(wait_s, connect=min(self.connect_timeout_s, wait_s)),
                        **kwargs,
                    )
            except (httpx.TimeoutException, TimeoutError):
                # Never retried: see the module's docstring.
                raise ServiceError(
                    ErrorType.UPSTREAM_TIMEOUT, f"{self.name} did not answer within {wait_s:g} s"
                ) from None
            except httpx.TransportError as exc:
                if last:
                    raise ServiceError(
                        ErrorType.UPSTREAM,
                        f"{self.name} is unreachable ({exc.__class__.__name__})",
                    ) from None
            else:
                if response.is_success or response.status_code in accept:
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
        if (400 <= status < 500 or kind is ErrorType.NO_JOB_STORE) and kind is not None:
            # A 4xx is the caller's; an upstream without a job store is a fact the caller can act
            # on (generate_tracked falls back to the synchronous route), not an upstream failure.
            headers = {k: v for k, v in response.headers.items() if k.lower() == "retry-after"}
            return ServiceError(kind, f"{self.name}: {message}", headers=headers)
        return ServiceError(ErrorType.UPSTREAM, f"{self.name} answered {status}: {message}")

    async def readiness(self) -> dict[str, Any] | None:
        """The upstream's /readyz body, or None when it is not ready or not reachable."""
        if self.breaker.state is BreakerState.OPEN:
            # Known to be failing: asking would cost every request this probe's timeout again.
            return None
        left = time_left()  # inside a RAG request (its cache key's versions): within its deadline
        try:
            response = await self.http.get(
                "/readyz", timeout=2.0 if left is None else min(2.0, left)
            )
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

    async def embed(self, request: EmbedRequest) -> EmbedResponse:
        response = await self.request(
            "POST", "/v1/embed", json=request.model_dump(exclude_none=True)
        )
        return EmbedResponse.model_validate_json(response.content)

    async def image(self, item_id: int, size: int = 512, index_version: str | None = None) -> bytes:
        """A stored image; with `index_version`, a 404 if the index was swapped since that search."""
        return (await self.image_and_etag(item_id, size, index_version))[0]

    async def image_and_etag(
        self, item_id: int, size: int = 512, index_version: str | None = None
    ) -> tuple[bytes, str | None]:
        """The image and its ETag, which names the index version it belongs to."""
        params: dict[str, str | int] = {"size": size}
        if index_version is not None:
            params["index_version"] = index_version
        response = await self.request("GET", f"/v1/images/{item_id}", params=params)
        return response.content, response.headers.get("etag")


class CaptioningClient(UpstreamClient):
    async def caption(self, request: CaptionRequest) -> CaptionResponse:
        response = await self.request(
            "POST", "/v1/caption", json=request.model_dump(exclude_none=True)
        )
        return CaptionResponse.model_validate_json(response.content)


def vanished(job_id: str) -> str:
    """Why a RAG job failed whose generation job is gone (its job store lost it, or it expired)."""
    return (
        f"its generation job {job_id} vanished from the generation service (its job store lost "
        "it); submit the job again"
    )


class GenerationClient(UpstreamClient):
    poll_s = 0.2  # how often generate_tracked polls its generation job

    async def styles(self) -> StyleList:
        """The styles the generation service serves (GET /v1/styles)."""
        response = await self.request("GET", "/v1/styles")
        return StyleList.model_validate_json(response.content)

    async def generate(self, request: GenerateRequest) -> GenerateResponse:
        # Not retried: a generation is expensive, and a timeout usually means it is still running.
        response = await self.request(
            "POST", "/v1/generate", idempotent=False, json=request.model_dump(exclude_none=True)
        )
        return GenerateResponse.model_validate_json(response.content)

    async def upscale(self, request: UpscaleRequest) -> UpscaleResponse:
        """The tile at the size asked for, its seam kept in `request.repeat` (POST /v1/upscale:
        the diffusion upscaler when the service has one, else Lanczos; `method` says which)."""
        # Not retried: a diffusion pass is expensive, as a generation is.
        response = await self.request(
            "POST", "/v1/upscale", idempotent=False, json=request.model_dump(exclude_none=True)
        )
        return UpscaleResponse.model_validate_json(response.content)

    async def generate_tracked(
        self, request: GenerateRequest, progress: ProgressReporter
    ) -> GenerateResponse:
        """The same answer as `generate`, run as a generation job whose progress goes to `progress`.

        Submits `POST /v1/jobs`, polls `GET /v1/jobs/{id}` every `poll_s`, then fetches the PNGs.
        Whatever stops this call before the job ends (a cancel from `progress`, a time limit, a stopping
        worker, an upstream error) cancels the generation job too, so no GPU keeps working for nobody.
        A generation service without jobs (503 `no_job_store`: no Redis there) is called
        synchronously instead.
        """
        try:
            submitted = await self.request(
                "POST", "/v1/jobs", idempotent=False, json=request.model_dump(exclude_none=True)
            )
        except ServiceError as exc:
            if exc.type is not ErrorType.NO_JOB_STORE:
                raise
            log.info("generation jobs unavailable (%s); generating synchronously", exc.message)
            return await self.generate(request)
        job_id = str(submitted.json()["job_id"])
        ended = False
        try:
            await progress.generation_submitted(job_id)
            while True:
                job = await self.job(job_id)
                if job is None:
                    raise ServiceError(ErrorType.UPSTREAM, vanished(job_id))
                ended = job.state in ("succeeded", "failed", "cancelled")
                await progress.generation_progress(job.progress.step, job.progress.total)
                if job.state == "succeeded":
                    if job.result is None:
                        raise ServiceError(
                            ErrorType.UPSTREAM, f"generation job {job_id}: no result"
                        )
                    break
                if job.state == "failed":
                    error = job.error
                    kind = error.type if error else ErrorType.UPSTREAM
                    # The generation's own fault is an upstream failure for the gateway's caller.
                    if kind is ErrorType.INTERNAL:
                        kind = ErrorType.UPSTREAM
                    raise ServiceError(kind, f"generation: {error.message if error else 'failed'}")
                if job.state == "cancelled":
                    raise ServiceError(ErrorType.UPSTREAM, f"generation job {job_id} was cancelled")
                await asyncio.sleep(self.poll_s)
            images = []
            for n in range(len(job.result.images)):
                png = await self.request("GET", f"/v1/jobs/{job_id}/images/{n}")
                images.append(to_base64(png.content))
        except BaseException:
            if not ended:
                await self._cancel_job(job_id)
            raise
        summary = job.result.model_dump(exclude={"images"})
        return GenerateResponse(**summary, images=images)

    async def job(self, job_id: str) -> GenerationJob | None:
        """The generation job's record; None when the generation service has none (any more)."""
        try:
            response = await self.request("GET", f"/v1/jobs/{job_id}")
        except ServiceError as exc:
            if exc.type is ErrorType.NOT_FOUND:
                return None
            raise
        return GenerationJob.model_validate_json(response.content)

    async def _cancel_job(self, job_id: str) -> None:
        """Best effort, past the breaker: a failed cancel must not hide why the call stopped."""
        try:
            await self.http.delete(
                f"/v1/jobs/{job_id}",
                headers={REQUEST_ID_HEADER: current_request_id() or ""},
                timeout=5.0,
            )
            log.info("generation job %s cancelled", job_id)
        except httpx.HTTPError as exc:
            log.warning("could not cancel generation job %s: %s", job_id, exc.__class__.__name__)


class Owner(Protocol):
    """Whose designs a library call is about (gateway/security.py `Caller`)."""

    owner: str
    admin: bool


class LibraryClient(UpstreamClient):
    """The library service (designs and boards). Every call names its owner in headers; the library
    answers another owner's design as unknown (404), so the gateway passes its answers on as they are.
    """

    async def call(
        self,
        method: str,
        path: str,
        owner: Owner,
        *,
        idempotent: bool | None = None,
        extra_headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """One library call as `owner`; by default only POST (which creates) is not retried."""
        headers = {**(extra_headers or {}), OWNER_HEADER: owner.owner}
        if owner.admin:
            headers[ADMIN_HEADER] = "true"
        retry = method != "POST" if idempotent is None else idempotent
        return await self.request(method, path, idempotent=retry, headers=headers, **kwargs)

    async def create(self, design: DesignCreate, owner: Owner) -> Design:
        response = await self.call(
            "POST", "/v1/designs", owner, json=design.model_dump(mode="json")
        )
        return Design.model_validate_json(response.content)

    async def design(self, design_id: str, owner: Owner) -> Design:
        response = await self.call("GET", f"/v1/designs/{design_id}", owner)
        return Design.model_validate_json(response.content)

    async def nearest(self, request: NearestRequest, owner: Owner) -> NearestResponse:
        response = await self.call(  # a read, whatever its method: safe to retry
            "POST", "/v1/designs/nearest", owner, idempotent=True, json=request.model_dump()
        )
        return NearestResponse.model_validate_json(response.content)
