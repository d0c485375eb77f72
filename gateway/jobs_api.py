"""RAG jobs over HTTP: `POST /v1/jobs` (the `/v1/rag` body), `GET /v1/jobs` (the caller's jobs),
`GET` and `DELETE /v1/jobs/{id}`, and `GET /v1/jobs/{id}/events` (Server-Sent Events).

Behind the same guard as every `/v1` route (API key, then rate limit): an event stream counts once,
when it is opened, however many events it carries. Any replica answers for any job: the record is
in Redis (gateway/jobs.py). Without `GATEWAY_REDIS_URL` every job route answers 503 and
`POST /v1/rag` works as before. Creation takes an `Idempotency-Key` (gateway/idempotency.py) and a
`callback_url` (gateway/webhooks.py); answers take `response_format` (gateway/image_urls.py).
"""

from __future__ import annotations

import asyncio
import time

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import StreamingResponse

from gateway import idempotency
from gateway.api import (
    _GUARD_ERRORS,
    IdempotencyKey,
    ReadyGateway,
    caller_of,
    count_generation,
    guard,
    idempotency_store,
)
from gateway.composition import Gateway
from gateway.job_events import job_events
from gateway.jobs import CURSOR_PATTERN, FUNCTION, KIND, RagJobStore
from gateway.orchestrator import with_seed
from gateway.security import Caller
from gateway.webhooks import check_target_off_loop, finished_event
from services.common.contracts.gateway import (
    RESPONSE_FORMAT_DESCRIPTION,
    RagJob,
    RagJobPage,
    RagJobRequest,
    RagRequest,
    ResponseFormat,
)
from services.common.errors import (
    BusyError,
    ErrorType,
    InvalidInputError,
    NotLoadedError,
    error_responses,
)
from services.common.images import decode_base64, load_image_off_loop, sha256_hex
from services.common.jobs import JobCreated, JobState, job_store_available, new_job_id
from services.common.jobs_http import accepted, find_job, queue_getter
from services.common.logging import current_request_id

router = APIRouter(prefix="/v1/jobs", tags=["jobs"], dependencies=[Depends(guard)])
JobId = Path(description="The `job_id` that `POST /v1/jobs` answered (32 hex digits).")

_queue = queue_getter(what="RAG jobs", setting="GATEWAY_REDIS_URL", sync_route="POST /v1/rag")
# How long a repeat of an idempotent submission waits for the first one's record to appear.
_REPLAY_WAIT_S = 5.0
_READ_ERRORS = error_responses(*_GUARD_ERRORS, ErrorType.NOT_FOUND, ErrorType.NO_JOB_STORE)


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
    "again after a gateway stopped gives the same answer. With `Idempotency-Key`, a retry answers "
    "the first request's job (`Idempotent-Replayed: true`); with `callback_url`, a signed "
    "`job.finished` event is POSTed there when the job ends.",
    responses=error_responses(
        *_GUARD_ERRORS,
        ErrorType.PAYLOAD_TOO_LARGE,
        ErrorType.UNSUPPORTED_MEDIA,
        ErrorType.NOT_READY,
        ErrorType.NO_JOB_STORE,
        ErrorType.IDEMPOTENCY_MISMATCH,
    ),
)
async def submit(
    body: RagJobRequest,
    request: Request,
    response: Response,
    gateway: ReadyGateway,
    idempotency_key: IdempotencyKey = None,
) -> JobCreated:
    queue = _queue(request)
    image_sha256 = None
    if body.image is not None:
        # Checked now, as /v1/rag does: a bad upload is a 4xx, not a failed job later.
        limits = request.app.state.settings.image_limits
        raw = decode_base64(body.image, limits=limits)
        await load_image_off_loop(raw, limits=limits)
        image_sha256 = sha256_hex(raw)
    if body.callback_url is not None:
        if not gateway.webhooks.enabled:
            raise InvalidInputError(
                "callback_url: this gateway sends no webhooks (GATEWAY_WEBHOOK_SECRET is not set)"
            )
        await check_target_off_loop(body.callback_url, gateway.webhooks.allow)
    caller = caller_of(request)
    if idempotency_key is None:
        job_id, state = await _create(request, gateway, body, image_sha256, new_job_id())
        return accepted(response, job_id, state)

    # The key answers its job, so it lives no longer than the job's record does.
    ttl_s = idempotency.for_records_of(request.app.state.settings.job_ttl_s)
    store = idempotency_store(request, "jobs", ttl_s)
    body_fingerprint = idempotency.fingerprint(body)
    deadline = time.monotonic() + _REPLAY_WAIT_S
    while True:
        decided = {"job_id": new_job_id()}
        async with job_store_available():
            first, decided = await store.claim(
                caller.owner, idempotency_key, body_fingerprint, decided
            )
        if first:
            try:
                job_id, state = await _create(
                    request, gateway, body, image_sha256, decided["job_id"]
                )
            except BaseException:  # nothing was made: a retry may make it
                await asyncio.shield(
                    store.release(caller.owner, idempotency_key, body_fingerprint, decided)
                )
                raise
            return accepted(response, job_id, state)
        # A repeat: the first request's job, once its record exists (it is being made now, or the
        # first request failed and gave its claim up: then this one claims it again).
        async with job_store_available():
            job = await queue.store.rag_job(decided["job_id"], caller)  # type: ignore[attr-defined]
            claimed = await store.claimed(caller.owner, idempotency_key)
        if job is not None:
            response.headers["Idempotent-Replayed"] = "true"
            return accepted(response, job.job_id, job.state)
        if claimed and time.monotonic() > deadline:
            raise BusyError(
                "the first request with this Idempotency-Key is still being submitted; retry"
            )
        await asyncio.sleep(0.05)


async def _create(
    request: Request,
    gateway: Gateway,
    body: RagJobRequest,
    image_sha256: str | None,
    job_id: str,
) -> tuple[str, JobState]:
    """Make job `job_id`: answered at once from the cache, or queued for a worker."""
    queue = _queue(request)
    store: RagJobStore = queue.store  # type: ignore[assignment]
    rag = with_seed(RagRequest.model_validate(body.model_dump(exclude={"callback_url"})))
    caller = caller_of(request)
    extra = {"response_format": rag.response_format}
    if body.callback_url is not None:
        extra["callback_url"] = body.callback_url
    # A job costs what the same /v1/rag costs (issue 16, finding 8).
    await count_generation(request, gateway, rag)
    cached = await gateway.orchestrator.cached(rag, image_sha256, owner=caller)
    async with job_store_available():
        if cached is not None:
            request.app.state.gateway_metrics.observe(cached)
            if gateway.saver is not None:
                gateway.saver.wake()  # a hit may have queued designs for this caller
            job = await store.create_answered(cached, caller.owner, job_id=job_id, extra=extra)
            if body.callback_url is not None:
                await gateway.webhooks.send(
                    body.callback_url, finished_event(job_id, job.state, None)
                )
            return job.job_id, job.state
        payload = {
            "request": rag.model_dump(mode="json"),
            "image_sha256": image_sha256,
            "request_id": current_request_id(),
            # The worker saves the designs for this caller (an id, never the key).
            "owner": {"owner": caller.owner, "admin": caller.admin},
        }
        if rag.generate:  # one key cannot fill the queue (issue 16, finding 8)
            bound = request.app.state.settings.max_jobs_per_key
            await store.reserve(caller.client, job_id, bound)
        try:
            record = await queue.submit(
                KIND, FUNCTION, payload, job_id=job_id, extra={**extra, "owner": caller.owner}
            )
        except BaseException:
            await store.unreserve(caller.client, job_id)
            raise
        return record.job_id, record.state


@router.get(
    "",
    response_model=RagJobPage,
    operation_id="listJobs",
    summary="The caller's jobs, newest first, a page at a time (without their answers)",
    description="Jobs stay listed as long as their records live (GATEWAY_JOB_TTL_S). Pass a page's "
    "`next_cursor` as `cursor` for the next one; jobs created meanwhile never shift a page.",
    responses=_READ_ERRORS,
)
async def list_jobs(
    request: Request,
    limit: int = Query(20, ge=1, le=100, description="Jobs per page."),
    cursor: str | None = Query(
        None,
        max_length=200,
        pattern=CURSOR_PATTERN,
        description="`next_cursor` of the page before.",
    ),
    state: JobState | None = Query(None, description="Only jobs in this state."),
) -> RagJobPage:
    store: RagJobStore = _queue(request).store  # type: ignore[assignment]
    async with job_store_available():
        return await store.page(caller_of(request).owner, state=state, limit=limit, cursor=cursor)


@router.get(
    "/{job_id}",
    operation_id="getJob",
    response_model=RagJob,
    summary="State, stage, generation progress, and the RAG answer (or error) of a job",
    description="The job's record: `state` (queued, running, succeeded, failed, cancelled), the "
    "`stage` running, generation `progress` (steps of total), and once it ends the RAG answer in "
    "`result` or the refusal in `error`. Another key's job answers 404.",
    responses=_READ_ERRORS,
)
async def status(
    request: Request,
    job_id: str = JobId,
    response_format: ResponseFormat | None = Query(
        None, description=RESPONSE_FORMAT_DESCRIPTION + " Default: the job's own."
    ),
) -> RagJob:
    store: RagJobStore = _queue(request).store  # type: ignore[assignment]
    async with job_store_available():
        job = await _job(store, job_id, caller_of(request))
        wanted = response_format or job.response_format
        if job.result is None or wanted == "b64_json":
            return job.model_copy(update={"response_format": wanted})
        owner = await store.owner_of(job_id) or caller_of(request).owner
    gateway = getattr(request.app.state, "engine", None)
    if gateway is None:
        raise NotLoadedError("the gateway is still loading; ask for response_format=b64_json")
    result = await gateway.image_urls.as_urls(
        job.result, base_url=str(request.base_url), owner=owner, job_id=job_id
    )
    return job.model_copy(update={"result": result, "response_format": wanted})


@router.get(
    "/{job_id}/events",
    response_class=StreamingResponse,
    operation_id="getJobEvents",
    summary="The job's progress as Server-Sent Events, until it ends",
    description="`text/event-stream` events: `state` ({state}), `stage` ({stage}), `progress` "
    "({step, total} of the generation), and last `finished` ({job_id, state, status_url, error}), "
    "after which the stream ends. Counts once against the rate limit, however long it runs.",
    responses={
        200: {
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
            "description": "The event stream",
        },
        **_READ_ERRORS,
    },
)
async def events(request: Request, job_id: str = JobId) -> StreamingResponse:
    store: RagJobStore = _queue(request).store  # type: ignore[assignment]
    async with job_store_available():
        await _job(store, job_id, caller_of(request))
    stream = job_events(store, job_id, poll_s=request.app.state.settings.job_poll_s)
    return StreamingResponse(
        stream,
        media_type="text/event-stream",
        # No caching, and no buffering by an nginx in front: each event goes out as it happens.
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.delete(
    "/{job_id}",
    operation_id="cancelJob",
    response_model=RagJob,
    summary="Cancel: a queued job never runs; a running one stops at its next stage or step",
    description="Answers the record: `cancelled` for a queued job, `running` with "
    "`cancel_requested` for a running one (poll until `cancelled`; its generation job is cancelled "
    "too); a finished job is unchanged.",
    responses=_READ_ERRORS,
)
async def cancel(request: Request, job_id: str = JobId) -> RagJob:
    queue = _queue(request)
    store: RagJobStore = queue.store  # type: ignore[assignment]
    async with job_store_available():
        before = await _job(store, job_id, caller_of(request))
        await store.cancel(job_id)
        after = await _job(store, job_id, caller_of(request))
    if before.state == "queued" and after.state == "cancelled" and after.callback_url:
        # No worker will see it: its webhook goes from here (a running job's, from its worker).
        gateway = getattr(request.app.state, "engine", None)
        if gateway is not None:
            await gateway.webhooks.send(
                after.callback_url, finished_event(job_id, "cancelled", None)
            )
    return after
