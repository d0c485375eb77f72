"""Generation jobs over HTTP: submit, read state and progress, fetch images, cancel.

Any replica answers for any job: the record lives in Redis (`services.common.jobs`), and the work runs
in whichever worker arq hands it to.
"""

from __future__ import annotations

import anyio.to_thread
from fastapi import APIRouter, Path, Request, Response

from services.common.contracts.generation import GenerateRequest, GenerationJob
from services.common.errors import ErrorType, ServiceError, error_responses
from services.common.jobs import JobCreated, JobQueue, job_store_available
from services.common.jobs_http import accepted, find_job, queue_getter
from services.generation.inputs import checked_images
from services.generation.worker import FUNCTION, KIND, image_name

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])
JobId = Path(description="The `job_id` that `POST /v1/jobs` answered (32 hex digits).")


_queue = queue_getter(what="jobs", setting="GENERATION_REDIS_URL", sync_route="POST /v1/generate")


async def _job(queue: JobQueue, job_id: str) -> GenerationJob:
    record = await find_job(queue.store.get, job_id, kind=KIND)
    return GenerationJob.model_validate(record.model_dump())


@router.post(
    "",
    operation_id="createJob",
    status_code=202,
    response_model=JobCreated,
    summary="Queue a generation (same body as /v1/generate); poll GET /v1/jobs/{job_id}",
    description="Answers 202 with the job id at once, `Location` pointing where to poll; 429 when the queue is full. Needs GENERATION_REDIS_URL (503 `no_job_store` without).",
    responses=error_responses(
        ErrorType.PAYLOAD_TOO_LARGE,
        ErrorType.UNSUPPORTED_MEDIA,
        ErrorType.OVERLOADED,
        ErrorType.NO_JOB_STORE,
        ErrorType.NOT_FOUND,
    ),
)
async def submit(body: GenerateRequest, request: Request, response: Response) -> JobCreated:
    queue = _queue(request)
    # Checked here as well as in the worker: bad input is a 4xx now, not a failed job later.
    # In a worker thread: decoding a large upload must not stall the event loop.
    await anyio.to_thread.run_sync(checked_images, body, request.app.state.settings)
    engine = getattr(request.app.state, "engine", None)
    if engine is not None:
        engine.styles.resolve(body)  # unknown style: 404 here rather than a failed job
    async with job_store_available():
        record = await queue.submit(KIND, FUNCTION, body.model_dump(mode="json"))
    return accepted(response, record.job_id, record.state)


@router.get(
    "/{job_id}",
    operation_id="getJob",
    response_model=GenerationJob,
    summary="State, progress (denoising steps), and the result or error of a job",
    description="The job's record: state, denoising progress (steps of total), and once it ends the result (image paths) or the error.",
    responses=error_responses(ErrorType.NOT_FOUND, ErrorType.NO_JOB_STORE),
)
async def status(request: Request, job_id: str = JobId) -> GenerationJob:
    queue = _queue(request)
    async with job_store_available():
        return await _job(queue, job_id)


@router.get(
    "/{job_id}/images/{n}",
    operation_id="getJobImage",
    response_class=Response,
    summary="Image n (from 0) of a succeeded job, as PNG",
    description="The n-th generated PNG of a succeeded job (while the job record lives).",
    responses={
        200: {"content": {"image/png": {}}, "description": "The PNG"},
        **error_responses(ErrorType.NOT_FOUND, ErrorType.NO_JOB_STORE),
    },
)
async def image(
    request: Request,
    job_id: str = JobId,
    n: int = Path(description="Which image of the job, from 0 (`num_images` were made)."),
) -> Response:
    queue = _queue(request)
    async with job_store_available():
        job = await _job(queue, job_id)
        if job.state != "succeeded" or job.result is None:
            raise ServiceError(
                ErrorType.NOT_FOUND, f"job {job_id} is {job.state}: it has no images"
            )
        count = len(job.result.images)
        if not 0 <= n < count:
            raise ServiceError(ErrorType.NOT_FOUND, f"job {job_id} has images 0..{count - 1}")
        png = await queue.store.get_blob(job_id, image_name(n))
    if png is None:
        raise ServiceError(ErrorType.NOT_FOUND, f"image {n} of job {job_id} has expired")
    return Response(content=png, media_type="image/png")


@router.delete(
    "/{job_id}",
    operation_id="cancelJob",
    response_model=GenerationJob,
    summary="Cancel: a queued job never runs; a running one stops after its current step",
    description="Answers the record: `cancelled` for a queued job, `running` with "
    "`cancel_requested` for a running one (poll until `cancelled`); a finished job is unchanged.",
    responses=error_responses(ErrorType.NOT_FOUND, ErrorType.NO_JOB_STORE),
)
async def cancel(request: Request, job_id: str = JobId) -> GenerationJob:
    queue = _queue(request)
    async with job_store_available():
        await _job(queue, job_id)
        record = await find_job(queue.store.cancel, job_id)  # None: expired meanwhile
    return GenerationJob.model_validate(record.model_dump())
