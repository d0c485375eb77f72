"""Jobs: long-running work with an id, a state, progress, a result and a cancel flag, kept in Redis.

Two halves, so the gateway's RAG jobs can reuse them as they are:

- `JobStore` (library-agnostic): the job record. Every API replica reads it, every worker writes it;
  it is what `GET /v1/jobs/{id}` answers. Layout, all under one namespace and expiring `ttl_s` after
  the last write:

      {ns}:{id}              hash: kind, state, step, total, error (JSON), result (JSON),
                             cancel_requested ("0"/"1"), created_at, updated_at
      {ns}:{id}:blob:{name}  bytes a result refers to (generated PNGs)

  State changes are single Lua scripts, so an API replica cancelling a queued job and a worker
  starting it cannot both win.
- `JobQueue` and `run_tracked`: delivery through arq (asyncio-native, Redis-backed). arq moves the
  job to exactly one worker on any machine, holds it in the queue until it finishes (a worker that
  dies or stops mid-job leaves it to be run again), and retries; the record above is ours because arq
  keeps no progress and its abort only cancels the asyncio task, not a model call in a thread.

Cancelling: `DELETE` marks a queued job cancelled at once (the worker skips it) and sets
`cancel_requested` on a running one; the worker's step callback (`StepProgressReporter`) reads that flag in
the same round trip that records progress, after every step, and stops the run.

redis and arq are imported inside functions: importing this module stays cheap.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Literal

from pydantic import BaseModel, Field

from services.common.errors import BusyError, ErrorType, NoJobStoreError, to_service_error

log = logging.getLogger(__name__)

JobState = Literal["queued", "running", "succeeded", "failed", "cancelled"]


class JobProgress(BaseModel):
    step: int = Field(0, description="Steps done (denoising steps for generation).")
    total: int = Field(0, description="Steps in all; 0 until the job starts.")


class JobError(BaseModel):
    type: ErrorType
    message: str


class JobRecord(BaseModel):
    """What `GET /v1/jobs/{id}` answers; services narrow `result` to their own schema."""

    job_id: str
    kind: str
    state: JobState
    progress: JobProgress
    cancel_requested: bool = False
    error: JobError | None = None
    result: dict[str, Any] | None = None
    created_at: float
    updated_at: float


class JobCreated(BaseModel):
    job_id: str
    state: JobState
    status_url: str


class JobCancelled(Exception):
    """Raised inside a running job when its cancel flag is seen."""


class JobInterrupted(Exception):
    """Raised inside a running job when its worker is stopping: the job goes back to the queue."""


class JobTimedOut(Exception):
    """Raised inside a running job past its time limit: the job fails."""


JOB_ID = re.compile(r"[0-9a-f]{32}")  # what new_job_id makes; anything else is no job of ours


@contextlib.asynccontextmanager
async def job_store_available() -> AsyncIterator[None]:
    """Redis down is 503 for the job routes (the job store is unavailable), never a 500."""
    from redis.exceptions import RedisError

    try:
        yield
    except (RedisError, OSError) as exc:
        raise NoJobStoreError(
            f"the job store (Redis) is unavailable: {exc.__class__.__name__}", retry_after_s=5
        ) from exc


def new_job_id() -> str:
    return uuid.uuid4().hex


# KEYS[1] = record; ARGV[1] = JSON list of states it may leave; ARGV[2] = JSON fields; ARGV[3] = TTL.
# Returns {1, old_state} when applied, {0, state} when not, nil when there is no such job.
_TRANSITION = """
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return nil end
for _, allowed in ipairs(cjson.decode(ARGV[1])) do
  if allowed == state then
    for field, value in pairs(cjson.decode(ARGV[2])) do
      redis.call('HSET', KEYS[1], field, value)
    end
    redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
    return {1, state}
  end
end
return {0, state}
"""

# KEYS[1] = record; ARGV = step, total, now, TTL. Progress only while running; returns the cancel flag.
_PROGRESS = """
if redis.call('HGET', KEYS[1], 'state') ~= 'running' then return '1' end
redis.call('HSET', KEYS[1], 'step', ARGV[1], 'total', ARGV[2], 'updated_at', ARGV[3])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[4]))
return redis.call('HGET', KEYS[1], 'cancel_requested')
"""


class JobStore:
    """Job records in Redis (`redis.asyncio.Redis`, or arq's subclass of it)."""

    def __init__(self, redis: Any, *, namespace: str, ttl_s: int = 86400) -> None:
        self.redis = redis
        self.namespace = namespace
        self.ttl_s = ttl_s
        self._transition = redis.register_script(_TRANSITION)
        self._progress = redis.register_script(_PROGRESS)

    def key(self, job_id: str) -> str:
        return f"{self.namespace}:{job_id}"

    def blob_key(self, job_id: str, name: str) -> str:
        return f"{self.namespace}:{job_id}:blob:{name}"

    async def create(
        self, job_id: str, kind: str, extra: dict[str, str] | None = None
    ) -> JobRecord:
        """A queued record; `extra`: fields of the service's own, written in the same transaction."""
        now = time.time()
        fields = {
            **(extra or {}),
            "kind": kind,
            "state": "queued",
            "step": 0,
            "total": 0,
            "cancel_requested": "0",
            "created_at": now,
            "updated_at": now,
        }
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.key(job_id), mapping=fields)
            pipe.expire(self.key(job_id), self.ttl_s)
            await pipe.execute()
        return await self.get(job_id)  # type: ignore[return-value]

    async def get(self, job_id: str) -> JobRecord | None:
        raw = await self.redis.hgetall(self.key(job_id))
        if not raw:
            return None
        fields = {k.decode(): v.decode() for k, v in raw.items()}
        return JobRecord(
            job_id=job_id,
            kind=fields["kind"],
            state=fields["state"],
            progress=JobProgress(step=int(fields["step"]), total=int(fields["total"])),
            cancel_requested=fields["cancel_requested"] == "1",
            error=JobError.model_validate_json(fields["error"]) if "error" in fields else None,
            result=json.loads(fields["result"]) if "result" in fields else None,
            created_at=float(fields["created_at"]),
            updated_at=float(fields["updated_at"]),
        )

    async def transition(
        self, job_id: str, from_states: set[str], fields: dict[str, Any]
    ) -> tuple[bool, str | None]:
        """Apply `fields` only if the job is in one of `from_states`: (applied, state before)."""
        answer = await self._transition(
            keys=[self.key(job_id)],
            args=[
                json.dumps(sorted(from_states)),
                json.dumps({"updated_at": time.time(), **fields}),
                self.ttl_s,
            ],
        )
        if answer is None:
            return False, None
        applied, state = answer
        return bool(applied), state.decode()

    async def start(self, job_id: str) -> bool:
        """queued -> running. `running` too: arq runs a job again when its worker died mid-run."""
        applied, _ = await self.transition(
            job_id, {"queued", "running"}, {"state": "running", "step": 0}
        )
        return applied

    async def progress(self, job_id: str, step: int, total: int) -> bool:
        """Record progress; True when the job should stop (cancel requested, or no longer running)."""
        flag = await self._progress(
            keys=[self.key(job_id)], args=[step, total, time.time(), self.ttl_s]
        )
        return flag == b"1"

    async def finish(
        self,
        job_id: str,
        state: JobState,
        *,
        result: dict[str, Any] | None = None,
        error: JobError | None = None,
    ) -> None:
        fields: dict[str, Any] = {"state": state}
        if result is not None:
            fields["result"] = json.dumps(result)
        if error is not None:
            fields["error"] = error.model_dump_json()
        await self.transition(job_id, {"running"}, fields)

    async def requeue(self, job_id: str) -> None:
        await self.transition(job_id, {"running"}, {"state": "queued", "step": 0})

    async def cancel(self, job_id: str) -> JobRecord | None:
        """Queued: cancelled now. Running: flagged; its worker stops after the current step."""
        flag = {"cancel_requested": "1"}
        applied, state = await self.transition(job_id, {"queued"}, {**flag, "state": "cancelled"})
        if state is None:
            return None
        if not applied:
            await self.transition(job_id, {"running"}, flag)
        return await self.get(job_id)

    async def put_blob(self, job_id: str, name: str, data: bytes) -> None:
        await self.redis.set(self.blob_key(job_id, name), data, ex=self.ttl_s)

    async def get_blob(self, job_id: str, name: str) -> bytes | None:
        return await self.redis.get(self.blob_key(job_id, name))


def connect_redis(url: str, timeout_s: float = 2.0) -> Any:
    """An arq connection (a `redis.asyncio.Redis` that can also enqueue), made without a round trip:
    a service starts even while Redis is down, and its job routes answer 503 until Redis is back.
    Connect and socket timeouts: a Redis that is paused (or behind a dead link) answers the job
    routes 503 within `timeout_s` instead of hanging them; arq sends no blocking commands."""
    from arq.connections import ArqRedis
    from redis.asyncio import ConnectionPool

    return ArqRedis(
        ConnectionPool.from_url(url, socket_connect_timeout=timeout_s, socket_timeout=timeout_s)
    )


class JobQueue:
    """Creates the record, then hands the job to arq under the same id, on a queue of bounded length."""

    def __init__(self, redis: Any, store: JobStore, *, queue_name: str, max_length: int) -> None:
        self.redis = redis
        self.store = store
        self.queue_name = queue_name
        self.max_length = max_length

    async def submit(
        self,
        kind: str,
        function: str,
        payload: dict[str, Any],
        *,
        job_id: str | None = None,
        extra: dict[str, str] | None = None,
    ) -> JobRecord:
        """`job_id`: one decided beforehand (an idempotency key's); `extra`: JobStore.create's."""
        # arq keeps a job in its queue until it finishes: the length counts waiting and running jobs.
        # Checked before enqueueing, so racing submitters may pass the bound by a few: a soft cap.
        waiting = await self.redis.zcard(self.queue_name)
        if waiting >= self.max_length:
            raise BusyError(
                f"the job queue is full ({waiting} of {self.max_length}); retry later",
                retry_after_s=5,
            )
        job_id = job_id or new_job_id()
        record = await self.store.create(job_id, kind, extra)
        await self.redis.enqueue_job(
            function, job_id, payload, _job_id=job_id, _queue_name=self.queue_name
        )
        return record

    async def length(self) -> int:
        return await self.redis.zcard(self.queue_name)


class StepProgressReporter:
    """The per-step callback of a job running in a worker thread (started by `anyio.to_thread`).

    Progress is written in the background, on the event loop that made the reporter: the denoising
    loop never waits on Redis (a paused Redis used to hold the pipeline, and every synchronous
    generation behind it). Writes coalesce: while one is in flight only the latest step is kept.
    Each write also reads the cancel flag, so a cancel takes effect at the first step after the
    write that saw it; a stopping worker and the time limit stop the job at the next step (a model
    call in a thread cannot be cancelled from outside).
    """

    def __init__(
        self,
        store: JobStore,
        job_id: str,
        stopping: threading.Event | None = None,
        timeout_s: float | None = None,
    ):
        self.store = store
        self.job_id = job_id
        self.stopping = stopping
        self.timeout_s = timeout_s
        self.deadline = time.monotonic() + timeout_s if timeout_s else None
        self.stop_requested = False
        self._loop = asyncio.get_running_loop()
        self._lock = threading.Lock()
        self._latest: tuple[int, int] | None = None
        self._writing = False

    def __call__(self, step: int, total: int) -> None:
        if self.stopping is not None and self.stopping.is_set():
            raise JobInterrupted(self.job_id)
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise JobTimedOut(self.job_id)
        if self.stop_requested:
            raise JobCancelled(self.job_id)
        with self._lock:
            self._latest = (step, total)
            if self._writing:
                return
            self._writing = True
        asyncio.run_coroutine_threadsafe(self._write(), self._loop)

    async def _write(self) -> None:
        while True:
            with self._lock:
                latest, self._latest = self._latest, None
                if latest is None:
                    self._writing = False
                    return
            try:
                if await self.store.progress(self.job_id, *latest):
                    self.stop_requested = True
            except Exception as exc:  # progress is best effort; the job's outcome is not
                log.warning("job %s: progress not recorded (%s)", self.job_id, exc)


async def run_tracked(
    store: JobStore,
    job_id: str,
    work: Callable[[StepProgressReporter], Awaitable[dict[str, Any]]],
    *,
    stopping: threading.Event | None = None,
    timeout_s: float | None = None,
) -> str:
    """Run `work` as job `job_id`, keeping its record true: the state every caller sees.

    Returns the final state, or "skipped" when the job was cancelled (or expired) before it started.
    Errors become a `failed` record: refusals (`ServiceError`, domain exceptions, `ValueError`) get
    the type and message the HTTP route would answer with (errors.to_service_error); anything else
    is logged with its stack and shown as an internal error.
    """
    if not await store.start(job_id):
        log.info("job %s skipped: cancelled or expired before it started", job_id)
        return "skipped"
    try:
        result = await work(StepProgressReporter(store, job_id, stopping, timeout_s))
    except JobCancelled:
        await store.finish(job_id, "cancelled")
        return "cancelled"
    except JobTimedOut:
        message = f"the job ran past its time limit of {timeout_s:g} s and was stopped"
        await store.finish(
            job_id, "failed", error=JobError(type=ErrorType.INTERNAL, message=message)
        )
        return "failed"
    except (JobInterrupted, asyncio.CancelledError):
        # The worker is stopping: give the job back so another worker (or this one, restarted) runs it.
        await asyncio.shield(store.requeue(job_id))
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise asyncio.CancelledError from None  # arq cancelled us: it re-queues the job itself
        from arq.worker import Retry

        raise Retry(defer=1) from None
    except Exception as exc:
        refusal = to_service_error(exc)
        if refusal is not None:
            error = JobError(type=refusal.type, message=refusal.message)
        else:
            log.exception("job %s failed", job_id)
            error = JobError(
                type=ErrorType.INTERNAL,
                message=f"internal error; see the worker log for job {job_id}",
            )
        await store.finish(job_id, "failed", error=error)
        return "failed"
    await store.finish(job_id, "succeeded", result=result)
    return "succeeded"
