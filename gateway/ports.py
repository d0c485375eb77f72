"""What the orchestrator needs of its collaborators, as Protocols: the upstream clients
(gateway/clients.py), the answer cache (gateway/cache.py), the design saver (gateway/saving.py), and
the progress reporter a job passes in (gateway/jobs.py). Tests and other carriers may pass anything
with these methods."""

from __future__ import annotations

from typing import Any, Protocol

from services.common.contracts.captioning import CaptionRequest, CaptionResponse
from services.common.contracts.gateway import RagRequest, RagResponse
from services.common.contracts.generation import GenerateRequest, GenerateResponse
from services.common.contracts.retrieval import SearchRequest, SearchResponse


class ProgressReporter(Protocol):
    """Told how far a flow run as a job has come; each method may raise to stop it (a cancel)."""

    async def stage(self, name: str) -> None:
        """A stage (retrieval, captioning, fusion, generation) starts."""

    async def generation_submitted(self, job_id: str) -> None:
        """The generate step runs as this generation job."""

    async def generation_progress(self, step: int, total: int) -> None:
        """Denoising steps done by the generation job."""


class Retrieval(Protocol):
    async def search(self, request: SearchRequest) -> SearchResponse: ...

    async def image(
        self, item_id: int, size: int = 512, index_version: str | None = None
    ) -> bytes: ...


class Captioning(Protocol):
    async def caption(self, request: CaptionRequest) -> CaptionResponse: ...


class Generation(Protocol):
    async def generate(self, request: GenerateRequest) -> GenerateResponse: ...

    async def generate_tracked(
        self, request: GenerateRequest, progress: ProgressReporter
    ) -> GenerateResponse: ...


class AnswerCache(Protocol):
    async def get(self, key: str) -> dict[str, Any] | None: ...

    async def set(self, key: str, value: dict[str, Any]) -> None: ...


class DesignSaving(Protocol):
    async def save(
        self, request: RagRequest, answer: RagResponse, owner: Any, *, parent_id: str | None = None
    ) -> RagResponse: ...
