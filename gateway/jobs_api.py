"""RAG jobs over HTTP: `POST /v1/jobs` (the `/v1/rag` body), `GET` and `DELETE /v1/jobs/{id}`.

Behind the same guard as every `/v1` route (API key, then rate limit). Any replica answers for any job:
the record is in Redis (gateway/jobs.py). Without `GATEWAY_REDIS_URL` every job route answers 503 and
`POST /v1/rag` works as before.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Request, Response

from gateway.api import _GUARD_ERRORS, ReadyGateway, caller_of, count_generation, guard
from gateway.jobs import FUNCTION, KIND, RagJobStore
from gateway.orchestrator import with_seed
from gateway.security import Caller
from services.common.contracts.gateway import RagJob, RagRequest
from services.common.errors import ErrorType, error_responses
from services.common.images import decode_base64, load_image_off_loop, sha256_hex
from services.common.jobs import JobCreated, job_store_available, new_job_id
from services.common.jobs_http import accepted, find_job, queue_getter
from services.common.logging import current_request_id

router = APIRouter(prefix="/v1/jobs", tags=["jobs"], dependencies=[Depends(guard)])
JobId = Path(description="The `job_id` that `POST /v1/jobs` answered (32 hex digits).")


_queue = queue_getter(what="RAG jobs", setting="GATEWAY_REDIS_URL", sync_route="POST /v1/rag")


async def _job(store: RagJobStore, job_id: str, caller: Caller) -> RagJob:
    """The caller's job (any job for an admin key); another owner's answers 404."""
    return await find_job(lambda found: store.rag_job(found, caller), job_id)


@router.post(
    "",
    operation_id="createJob",
    status_code=202,
    response_model=JobCreated,
    summary="Run the RAG flow as a job (the /v1/rag body); poll GET /v1/jobs/{job_id}",
    description="Answers 202 with the job id at once. A request whose answer is cached makes a job "
    "that is already `succeeded`. The seed is fixed now (random when omitted), so a job that is run "
    "again after a gateway stopped gives the same answer.",
    responses=error_responses(
        *_GUARD_ERRORS,
        ErrorType.PAYLOAD_TOO_LARGE,
        ErrorType.UNSUPPORTED_MEDIA,
        ErrorType.NOT_READY,
        ErrorType.NO_JOB_STORE,
    ),
)
async def submit(
    body: RagRequest, request: Request, response: Response, gateway: ReadyGateway
) -> JobCreated:
    queue = _queue(request)
    image_sha256 = None
    if body.image is not None:
        # Checked now, as /v1/rag does: a bad upload is a 4xx, not a failed job later.
        limits = request.app.state.settings.image_limits
        raw = decode_base64(body.image, limits=limits)
        await load_image_off_loop(raw, limits=limits)
        image_sha256 = sha256_hex(raw)
    body = with_seed(body)
    caller = caller_of(request)
    # A job costs what the same /v1/rag costs (issue 16, finding 8).
    await count_generation(request, gateway, body)
    cached = await gateway.orchestrator.cached(body, image_sha256, owner=caller)
    store: RagJobStore = queue.store  # type: ignore[assignment]
    async with job_store_available():
        if cached is not None:
            request.app.state.gateway_metrics.observe(cached)
            if gateway.saver is not None:
                gateway.saver.wake()  # a hit may have queued designs for this caller
            job = await store.create_answered(cached, caller.owner)
            job_id, state = job.job_id, job.state
        else:
            payload = {
                "request": body.model_dump(mode="json"),
                "image_sha256": image_sha256,
                "request_id": current_request_id(),
                # The worker saves the designs for this caller (an id, never the key).
                "owner": {"owner": caller.owner, "admin": caller.admin},
            }
            job_id = new_job_id()
            if body.generate:  # one key cannot fill the queue (issue 16, finding 8)
                bound = request.app.state.settings.max_jobs_per_key
                await store.reserve(caller.client, job_id, bound)
            try:
                record = await queue.submit(KIND, FUNCTION, payload, job_id=job_id)
            except BaseException:
                await store.unreserve(caller.client, job_id)
                raise
            await store.claim(record.job_id, caller.owner)
            state = record.state
    return accepted(response, job_id, state)


@router.get(
    "/{job_id}",
    operation_id="getJob",
    response_model=RagJob,
    summary="State, stage, generation progress, and the RAG answer (or error) of a job",
    description="The job's record: `state` (queued, running, succeeded, failed, cancelled), the "
    "`stage` running, generation `progress` (steps of total), and once it ends the RAG answer in "
    "`result` or the refusal in `error`. Another key's job answers 404.",
    responses=error_responses(*_GUARD_ERRORS, ErrorType.NOT_FOUND, ErrorType.NO_JOB_STORE),
)
async def status(request: Request, job_id: str = JobId) -> RagJob:
    queue = _queue(request)
    async with job_store_available():
        return await _job(queue.store, job_id, caller_of(request))  # type: ignore[arg-type]


@router.delete(
    "/{job_id}",
    operation_id="cancelJob",
    response_model=RagJob,
    summary="Cancel: a queued job never runs; a running one stops at its next stage or step",
    description="Answers the record: `cancelled` for a queued job, `running` with "
    "`cancel_requested` for a running one (poll until `cancelled`; its generation job is cancelled "
    "too); a finished job is unchanged.",
    responses=error_responses(*_GUARD_ERRORS, ErrorType.NOT_FOUND, ErrorType.NO_JOB_STORE),
)
async def cancel(request: Request, job_id: str = JobId) -> RagJob:
    queue = _queue(request)
    store: RagJobStore = queue.store  # type: ignore[assignment]
    async with job_store_available():
        await _job(store, job_id, caller_of(request))
        await store.cancel(job_id)
        return await _job(store, job_id, caller_of(request))
