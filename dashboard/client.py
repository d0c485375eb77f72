"""The dashboard's client of the gateway: one call per RAG query, errors as readable values.

`run_query` is the one place the dashboard asks for an answer. It submits a RAG job
(`POST /v1/jobs`), polls it and reports the stage and the generation's steps through `progress`; a
gateway without jobs (503, no Redis there; or 404, an older gateway) gets the synchronous
`POST /v1/rag` (or `/v1/rag/upload` with an image) instead.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from services.common.contracts.gateway import RagJob, RagResponse
from services.common.contracts.library import Board, BoardList, Design, DesignPage
from services.common.images import to_base64

# stage ("queued", "retrieval", "captioning", "fusion", "generation") and the generation's fraction
# of steps done, when known
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
    repeat: str = "full"  # with tile: full, half_drop or half_brick
    symmetry: str = "none"
    preview_repeat: bool = False
    style: str | None = None
    style_scale: float = 1.0
    remix_of: str | None = None  # a design id: run as its remix (the new design's parent)

    def remix_fields(self) -> dict[str, object]:
        """The overrides a remix takes (POST /v1/designs/{id}/remix)."""
        keep = ("text", "seed", "strength", "guidance_scale", "steps", "symmetry", "tile", "repeat")
        return {k: v for k, v in self.fields().items() if k in keep}

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
            "repeat": self.repeat if self.tile else None,
            "symmetry": self.symmetry if self.symmetry != "none" else None,
            "preview_repeat": self.preview_repeat or None,
            "style": self.style,
            "style_scale": self.style_scale if self.style else None,
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
    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        timeout_s: float = 600.0,
        poll_s: float = 1.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.headers = {"X-API-Key": api_key} if api_key else {}
        self.timeout = httpx.Timeout(timeout_s, connect=5.0)
        self.poll_s = poll_s

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

    def submit_job(self, query: Query) -> str:
        """`POST /v1/jobs` with the /v1/rag body (an image travels as base64): the job id."""
        body: dict[str, Any] = dict(query.fields())
        if query.image is not None:
            body["image"] = to_base64(query.image)
        return str(self._send("POST", "/v1/jobs", json=body).json()["job_id"])

    def job(self, job_id: str) -> RagJob:
        return RagJob.model_validate_json(self._send("GET", f"/v1/jobs/{job_id}").content)

    def cancel_job(self, job_id: str) -> None:
        self._send("DELETE", f"/v1/jobs/{job_id}")

    def styles(self) -> list[str]:
        """The names of the styles the generation service serves (GET /v1/styles on the gateway);
        empty when there are none or the list cannot be had (the style picker then hides)."""
        try:
            listing = self._send("GET", "/v1/styles").json()
        except (GatewayError, ValueError):
            return []
        return [style["name"] for style in listing.get("styles", []) if not style.get("fused")]

    # ---- the design library ----

    def designs(self, **filters: object) -> DesignPage:
        params = {k: v for k, v in filters.items() if v not in (None, "", False)}
        return DesignPage.model_validate_json(
            self._send("GET", "/v1/designs", params=params).content
        )

    def design(self, design_id: str) -> Design:
        return Design.model_validate_json(self._send("GET", f"/v1/designs/{design_id}").content)

    def design_image(self, design_id: str, size: int | None = None) -> bytes:
        params = {"size": size} if size else None
        return self._send("GET", f"/v1/designs/{design_id}/image", params=params).content

    def update_design(self, design_id: str, **fields: object) -> Design:
        response = self._send("PATCH", f"/v1/designs/{design_id}", json=fields)
        return Design.model_validate_json(response.content)

    def delete_design(self, design_id: str) -> None:
        self._send("DELETE", f"/v1/designs/{design_id}")

    def boards(self) -> list[Board]:
        return BoardList.model_validate_json(self._send("GET", "/v1/boards").content).boards

    def create_board(self, name: str) -> Board:
        return Board.model_validate_json(
            self._send("POST", "/v1/boards", json={"name": name}).content
        )

    def add_to_board(self, board_id: str, design_id: str) -> None:
        self._send("PUT", f"/v1/boards/{board_id}/designs/{design_id}")

    def remix(self, design_id: str, overrides: dict[str, object]) -> RagResponse:
        response = self._send("POST", f"/v1/designs/{design_id}/remix", json=overrides)
        return RagResponse.model_validate_json(response.content)

    def export(self, design_id: str, options: dict[str, object]) -> tuple[bytes, dict[str, str]]:
        """The design as a print-ready file (`POST /v1/designs/{id}/export`) and its answer's
        headers (Content-Disposition, the X- figures), lower-cased."""
        response = self._send("POST", f"/v1/designs/{design_id}/export", json=options)
        return response.content, {k.lower(): v for k, v in response.headers.items()}

    def reference_image(
        self, item_id: int, index_version: str | None = None, size: int = 224
    ) -> bytes | None:
        """A reference photo of the answer's index version (after a reload the gateway answers 404
        rather than another row's photo), or None when it cannot be had (the card shows text)."""
        params: dict[str, str | int] = {"size": size}
        if index_version is not None:
            params["index_version"] = index_version
        try:
            return self._send("GET", f"/v1/images/{item_id}", params=params).content
        except GatewayError:
            return None


def _has_no_jobs(error: GatewayError) -> bool:
    """`no_job_store` from POST /v1/jobs: the gateway has no Redis for jobs; 404/405: no job route."""
    return error.type == "no_job_store" or error.status in (404, 405)


def run_query(client: GatewayClient, query: Query, progress: Progress | None = None) -> RagResponse:
    """One RAG answer for `query`: as a job with `progress(stage, fraction)` while it runs, or
    synchronously when the gateway has no jobs. A remix (`query.remix_of`) asks the gateway to run
    the design's recorded request with the sidebar's overrides, so the new design keeps its parent."""
    if query.remix_of and query.image is None:
        if progress is not None:
            progress("queued", None)
        return client.remix(query.remix_of, query.remix_fields())
    try:
        job_id = client.submit_job(query)
    except GatewayError as error:
        if not _has_no_jobs(error):
            raise
        return client.rag(query)
    deadline = time.monotonic() + (client.timeout.read or 600.0)
    while True:
        try:
            job = client.job(job_id)
        except GatewayError as error:
            if error.status != 429:  # polls count against the rate limit: wait, then go on
                raise
            time.sleep(min(float(error.retry_after or 1), 10.0))
            continue
        if job.state == "succeeded" and job.result is not None:
            return job.result
        if job.state == "failed":
            kind, message = (job.error.type, job.error.message) if job.error else ("http", "failed")
            raise GatewayError(str(kind), f"{message} (job {job_id})")
        if job.state == "cancelled":
            raise GatewayError("cancelled", f"job {job_id} was cancelled")
        if progress is not None:
            steps = job.progress
            fraction = steps.step / steps.total if steps.total else None
            stage = job.stage if job.state == "running" and job.stage else "queued"
            progress(stage, fraction)
        if time.monotonic() > deadline:
            with contextlib.suppress(GatewayError):
                client.cancel_job(job_id)
            raise GatewayError(
                "timeout", f"no answer within {client.timeout.read:g} s; job {job_id} cancelled"
            )
        time.sleep(client.poll_s)
