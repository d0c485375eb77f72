"""What the two job APIs (generation's and the gateway's `/v1/jobs`) share over HTTP: the queue of
the app, the lookup that answers 404 for ids that are not jobs of ours, and the 202 answer.

The job store itself (services/common/jobs.py) knows nothing of HTTP; this module is its edge.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi import Request, Response

from services.common.errors import NoJobStoreError, NotFoundError, quoted
from services.common.jobs import JOB_ID, JobCreated, JobQueue

T = TypeVar("T")


def queue_getter(*, what: str, setting: str, sync_route: str) -> Callable[[Request], JobQueue]:
    """`get(request)`: the service's job queue (`app.state.jobs`), or 503 `no_job_store` naming the
    setting that would give it one and the synchronous route that works without. Called inside the
    handlers, after the body is validated (a bad body is a 422 with or without Redis)."""

    def job_queue(request: Request) -> JobQueue:
        queue = getattr(request.app.state, "jobs", None)
        if queue is None:
            raise NoJobStoreError(
                f"{what} need Redis and {setting} is not set; "
                f"the synchronous {sync_route} works without it"
            )
        return queue

    return job_queue


async def find_job(
    lookup: Callable[[str], Awaitable[T | None]], job_id: str, *, kind: str | None = None
) -> T:
    """The job `lookup(job_id)` finds, or 404: an id we never make is not looked up at all."""
    found: Any = await lookup(job_id) if JOB_ID.fullmatch(job_id) else None
    if found is None or (kind is not None and found.kind != kind):
        raise NotFoundError(f"no job {quoted(job_id)} (unknown, or expired)")
    return found


def accepted(response: Response, job_id: str, state: Any) -> JobCreated:
    """The 202 body, with `Location` pointing where to poll."""
    status_url = f"/v1/jobs/{job_id}"
    response.headers["Location"] = status_url
    return JobCreated(job_id=job_id, state=state, status_url=status_url)
