"""RAG jobs: the `/v1/rag` flow with an id, a stage, generation progress, a result and a cancel.

The machinery is the generation service's (`services/common/jobs.py`): the record lives in Redis
under `batik:rag:job:{id}` (so every gateway replica reads and cancels every job), arq delivers each
job to one worker, and `run_tracked` keeps the record true. The worker runs inside the gateway process
(`GATEWAY_JOB_WORKER`, on by default; it only waits on upstreams, so a few jobs run at once).

On top of the common record a RAG job keeps two fields of its own: `stage` (retrieval, captioning,
fusion, generation) and `generation_job_id`. Its `progress` is the generation job's own denoising
progress, polled from the generation service. A cancel is seen at the next stage boundary or the next
poll of the generation job, which is then cancelled as well (`GenerationClient.generate_tracked`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from gateway.clients import GenerationClient, vanished
from gateway.config import GatewaySettings
from gateway.security import Caller
from gateway.webhooks import WebhookSender, finished_event
from services.common.contracts.gateway import (
    RagJob,
    RagJobPage,
    RagJobSummary,
    RagRequest,
    RagResponse,
)
from services.common.errors import BusyError, InvalidInputError, quoted
from services.common.job_watchdog import QuietCheck
from services.common.jobs import (
    JOB_ID,
    JobCancelled,
    JobError,
    JobInterrupted,
    JobProgress,
    JobQueue,
    JobStore,
    JobTimedOut,
    StepProgressReporter,
    connect_redis,
    new_job_id,
    run_tracked,
)
from services.common.logging import _request_id

log = logging.getLogger(__name__)

KIND = "rag"
FUNCTION = "rag"
NAMESPACE = "batik:rag:job"
OWNER_INDEX = "batik:rag:jobs-of:"
STAGES_PREFIX = "batik:rag:job-stages:"  # each job's stage history (the event stream reads it)
OWN_FIELDS = ("stage", "generation_job_id", "owner", "response_format", "callback_url")
_SUMMARY_FIELDS = (
    *("kind", "state", "stage", "step", "total", "cancel_requested", "error"),
    *("created_at", "updated_at"),
)
# A page's `next_cursor`: the creation time and id of the last job it looked at.
CURSOR_PATTERN = r"^[0-9]+(\.[0-9]+)?(e[+-]?[0-9]+)?:[0-9a-f]{32}$"
LIST_SCAN_MAX = 1000  # jobs one `GET /v1/jobs` looks at, with a state filter

# KEYS[1] = record, KEYS[2] = its stage history; ARGV = field, value, now, TTL, a field to drop
# ('' none). Written only while running and not cancelled (so `stage` names the last stage that
# really started); a stage is also appended to the history, which the event stream reads (none is
# missed between two of its polls). Returns '1' when the job should stop.
_SET_WHILE_RUNNING = """
if redis.call('HGET', KEYS[1], 'state') ~= 'running' then return '1' end
if redis.call('HGET', KEYS[1], 'cancel_requested') == '1' then return '1' end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2], 'updated_at', ARGV[3])
if ARGV[5] ~= '' then redis.call('HDEL', KEYS[1], ARGV[5]) end
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[4]))
if ARGV[1] == 'stage' then
  redis.call('RPUSH', KEYS[2], ARGV[2])
  redis.call('EXPIRE', KEYS[2], tonumber(ARGV[4]))
end
return '0'
"""


# A client's generating jobs not yet finished (issue 16, finding 8): a sorted set per client of job
# ids, scored by when each was reserved. KEYS[1] = the set; ARGV = record key prefix, job id, bound,
# now, TTL. Members whose record has finished (or expired) are dropped as they are met; one reserved
# less than RESERVED_S ago whose record is not written yet counts. Returns 1 when `job id` was
# added, 0 when the client already holds `bound`.
RESERVED_S = 60
_RESERVE = f"""
local active = 0
local members = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
for i = 1, #members, 2 do
  local state = redis.call('HGET', ARGV[1] .. members[i], 'state')
  if state == 'queued' or state == 'running'
      or (not state and tonumber(ARGV[4]) - tonumber(members[i + 1]) < {RESERVED_S}) then
    active = active + 1
  else
    redis.call('ZREM', KEYS[1], members[i])
  end
end
if active >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[4], ARGV[2])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[5]))
return 1
"""
ACTIVE_PREFIX = "batik:rag:active:"


class RagJobStore(JobStore):
    """The common job record plus the RAG job's own fields, and an index of each owner's jobs.

    Own fields: `stage`, `generation_job_id`, `owner`, `response_format`, `callback_url`. The index
    `batik:rag:jobs-of:{owner}` is a sorted set of job ids by creation time (`GET /v1/jobs`); an id
    whose record has expired is dropped from it when a listing meets it.
    """

    def __init__(self, redis: Any, *, ttl_s: int = 86400) -> None:
        super().__init__(redis, namespace=NAMESPACE, ttl_s=ttl_s)
        self._set_while_running = redis.register_script(_SET_WHILE_RUNNING)
        self._reserve = redis.register_script(_RESERVE)

    def index_key(self, owner: str) -> str:
        return f"{OWNER_INDEX}{owner}"

    async def create(self, job_id: str, kind: str, extra: dict[str, str] | None = None):
        record = await super().create(job_id, kind, extra)
        owner = (extra or {}).get("owner")
        if owner is not None:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.zadd(self.index_key(owner), {job_id: record.created_at})
                pipe.expire(self.index_key(owner), self.ttl_s)
                await pipe.execute()
        return record

    async def note(self, job_id: str, field: str, value: str, *, drop: str = "") -> bool:
        """Record `field` (and drop the field `drop`) on a running job; True when the job should
        stop (cancel requested)."""
        flag = await self._set_while_running(
            keys=[self.key(job_id), self.stages_key(job_id)],
            args=[field, value, time.time(), self.ttl_s, drop],
        )
        return flag == b"1"

    async def reserve(self, client: str, job_id: str, bound: int) -> None:
        """One of `client`'s `bound` places for generating jobs, for `job_id` until it finishes;
        BusyError (429) when the client holds them all. Every replica sees the same count."""
        if not bound:
            return
        added = await self._reserve(
            keys=[ACTIVE_PREFIX + client],
            args=[f"{self.namespace}:", job_id, bound, time.time(), self.ttl_s],
        )
        if not int(added):
            raise BusyError(
                f"this client already has {bound} generating RAG jobs queued or running "
                "(GATEWAY_MAX_JOBS_PER_KEY); retry when one has finished",
                retry_after_s=5,
            )

    async def unreserve(self, client: str, job_id: str) -> None:
        """Give back a place whose job was never submitted."""
        await self.redis.zrem(ACTIVE_PREFIX + client, job_id)

    async def claim(self, job_id: str, owner: str) -> None:
        """Name the job's owner: its result holds that owner's design ids."""
        await self.redis.hset(self.key(job_id), "owner", owner)

    def stages_key(self, job_id: str) -> str:
        # Beside the namespace, not inside it: a scan of `batik:rag:job:*` finds records only.
        return f"{STAGES_PREFIX}{job_id}"

    async def stages(self, job_id: str, start: int = 0) -> list[str]:
        """The stages the job started, in order, from number `start` on (a job run again from the
        start after its worker stopped lists them again)."""
        return [s.decode() for s in await self.redis.lrange(self.stages_key(job_id), start, -1)]

    async def owner_of(self, job_id: str) -> str | None:
        owner = await self.redis.hget(self.key(job_id), "owner")
        return owner.decode() if owner is not None else None

    async def rag_job(self, job_id: str, caller: Caller | None = None) -> RagJob | None:
        """The job; None when there is none, or when `caller` (not an admin) does not own it."""
        record = await self.get(job_id)
        if record is None or record.kind != KIND:
            return None
        fields = await self._own_fields(job_id)
        if caller is not None and not caller.admin:
            owner = fields.pop("owner")
            if owner is not None and owner != caller.owner:
                return None  # another owner's job is unknown, as its designs are
        fields.pop("owner", None)
        return RagJob.model_validate(
            {**record.model_dump(), **{k: v for k, v in fields.items() if v is not None}}
        )

    async def fields(self, job_id: str, names: tuple[str, ...]) -> dict[str, str | None]:
        """These fields of the record, as text (None where absent)."""
        values = await self.redis.hmget(self.key(job_id), *names)
        return {
            name: value.decode() if value is not None else None
            for name, value in zip(names, values, strict=True)
        }

    async def _own_fields(self, job_id: str) -> dict[str, str | None]:
        return await self.fields(job_id, OWN_FIELDS)

    async def create_answered(
        self, answer: RagResponse, owner: str, *, job_id: str | None = None, extra=None
    ) -> RagJob:
        """A job that is done as it is created: its request was a cache hit."""
        job_id = job_id or new_job_id()
        await self.create(job_id, KIND, {**(extra or {}), "owner": owner})
        await self.transition(
            job_id, {"queued"}, {"state": "succeeded", "result": answer.model_dump_json()}
        )
        return await self.rag_job(job_id)  # type: ignore[return-value]

    async def page(
        self, owner: str, *, state: str | None = None, limit: int = 20, cursor: str | None = None
    ) -> RagJobPage:
        """`owner`'s jobs, newest first, `limit` at a time (only those in `state`, if given).

        The cursor is the last job looked at (`<created_at>:<id>`), so jobs made meanwhile never
        shift a page. With a state filter one call looks at most LIST_SCAN_MAX jobs: a page may come
        back short, with a cursor to go on from."""
        index = self.index_key(owner)
        await self.redis.zremrangebyscore(index, "-inf", time.time() - self.ttl_s)
        top, after_id = _parse_cursor(cursor)
        jobs: list[RagJobSummary] = []
        last: tuple[float, str] | None = None
        looked = 0
        while len(jobs) < limit and looked < LIST_SCAN_MAX:
            batch = await self._batch(index, top, after_id, limit + 50)
            if not batch:
                break
            for job_id, score in batch:
                looked += 1
                last = (score, job_id)
                summary = await self._summary(job_id)
                if summary is None:  # expired: its index entry goes too
                    await self.redis.zrem(index, job_id)
                elif state is None or summary.state == state:
                    jobs.append(summary)
                if len(jobs) == limit or looked >= LIST_SCAN_MAX:
                    break
            top, after_id = last  # type: ignore[misc]
        more = last is not None and bool(await self._batch(index, *last, 1))
        return RagJobPage(jobs=jobs, next_cursor=f"{last[0]!r}:{last[1]}" if more else None)

    async def _batch(
        self, index: str, top: float | str, after_id: str | None, count: int
    ) -> list[tuple[str, float]]:
        """Up to `count` (id, created_at) of the index after (`top`, `after_id`), newest first."""
        found = await self.redis.zrevrangebyscore(
            index, top, "-inf", start=0, num=count + 1, withscores=True
        )
        batch = [(member.decode(), score) for member, score in found]
        if after_id is not None:  # equal scores come in reverse order of id
            batch = [(m, sc) for m, sc in batch if not (sc == top and m >= after_id)]
        return batch[:count]

    async def _summary(self, job_id: str) -> RagJobSummary | None:
        fields = await self.fields(job_id, _SUMMARY_FIELDS)
        if fields["state"] is None or fields["kind"] != KIND:
            return None
        return RagJobSummary(
            job_id=job_id,
            state=fields["state"],
            stage=fields["stage"],
            progress=JobProgress(step=int(fields["step"] or 0), total=int(fields["total"] or 0)),
            cancel_requested=fields["cancel_requested"] == "1",
            error=JobError.model_validate_json(fields["error"]) if fields["error"] else None,
            created_at=float(fields["created_at"] or 0),
            updated_at=float(fields["updated_at"] or 0),
            status_url=f"/v1/jobs/{job_id}",
        )


def _parse_cursor(cursor: str | None) -> tuple[float | str, str | None]:
    """(the highest score to list, the id listed last at it), from a page's `next_cursor`."""
    if cursor is None:
        return "+inf", None
    score, _, job_id = cursor.partition(":")
    try:
        value = float(score)
    except ValueError:
        value = float("nan")
    if value != value or not JOB_ID.fullmatch(job_id):  # NaN, or not an id of ours
        raise InvalidInputError(f"cursor {quoted(cursor)} is not a `next_cursor` of this list")
    return value, job_id


class JobProgressReporter:
    """The orchestrator's `ProgressReporter` for one job: writes stage and progress, stops on cancel.

    Every report is one Redis round trip that also reads the cancel flag. A stopping worker and the
    time limit stop the flow the same way (`run_tracked` turns each into the right final state).
    """

    def __init__(
        self,
        store: RagJobStore,
        job_id: str,
        *,
        stopping: threading.Event | None = None,
        timeout_s: float | None = None,
    ) -> None:
        self.store = store
        self.job_id = job_id
        self.stopping = stopping
        self.deadline = time.monotonic() + timeout_s if timeout_s else None

    def _check(self) -> None:
        if self.stopping is not None and self.stopping.is_set():
            raise JobInterrupted(self.job_id)
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise JobTimedOut(self.job_id)

    async def stage(self, name: str) -> None:
        self._check()
        # A job run again (its gateway stopped) must not be judged by the previous try's
        # generation job: the id is written anew once this try submits one.
        if await self.store.note(self.job_id, "stage", name, drop="generation_job_id"):
            raise JobCancelled(self.job_id)

    async def generation_submitted(self, job_id: str) -> None:
        if await self.store.note(self.job_id, "generation_job_id", job_id):
            raise JobCancelled(self.job_id)

    async def generation_progress(self, step: int, total: int) -> None:
        self._check()
        if await self.store.progress(self.job_id, step, total):
            raise JobCancelled(self.job_id)


def generation_job_check(
    store: RagJobStore, generation: Callable[[], GenerationClient | None]
) -> QuietCheck:
    """The watchdog's look at a quiet running RAG job (services/common/job_watchdog.py).

    A RAG job in its generation stage whose worker is alive polls its generation job every
    GATEWAY_JOB_POLL_S, and each poll refreshes the record. Quiet for the watchdog's grace with its
    generation job gone (404) or ended, the job's worker is gone too; arq's in-progress mark would
    hide that until the job's time limit, so the job is failed now, with the reason.
    """

    async def check(job_id: str) -> str | None:
        stage, generation_job_id = await store.redis.hmget(
            store.key(job_id), "stage", "generation_job_id"
        )
        client = generation()
        if stage != b"generation" or not generation_job_id or client is None:
            return None
        upstream_id = generation_job_id.decode()
        job = await client.job(upstream_id)
        if job is None:
            return vanished(upstream_id)
        if job.state in ("succeeded", "failed", "cancelled"):
            return (
                f"its generation job {upstream_id} ended ({job.state}) and no worker collected "
                "it (its worker vanished); submit the job again"
            )
        return None

    return check


def job_queue(redis: Any, settings: GatewaySettings) -> JobQueue:
    return JobQueue(
        redis,
        RagJobStore(redis, ttl_s=settings.job_ttl_s),
        queue_name=settings.job_queue_name,
        max_length=settings.job_queue_max,
    )


async def rag_job(ctx: dict[str, Any], job_id: str, payload: dict[str, Any]) -> str:
    """The arq function: run the RAG flow of `payload` as job `job_id`."""
    store: RagJobStore = ctx["store"]
    settings: GatewaySettings = ctx["settings"]
    # Upstream calls and log lines carry the id of the request that submitted the job.
    _request_id.set(payload.get("request_id") or job_id)

    async def work(_steps: StepProgressReporter) -> dict[str, Any]:
        gateway = ctx["gateway"]
        progress = JobProgressReporter(
            store, job_id, stopping=ctx["stopping"], timeout_s=settings.job_timeout_s
        )
        request = RagRequest.model_validate(payload["request"], strict=False)  # our own record
        owner = payload.get("owner")
        answer = await gateway.orchestrator.run(
            request,
            payload.get("image_sha256"),
            progress=progress,
            owner=Caller(client="job", **owner) if owner else None,
        )
        ctx["observe"](answer)
        if gateway.saver is not None:
            gateway.saver.wake()  # the outbox's drain saves the designs the result names
        return answer.model_dump(mode="json")

    state = await run_tracked(
        store, job_id, work, stopping=ctx["stopping"], timeout_s=settings.job_timeout_s
    )
    log.info("RAG job %s: %s", job_id, state)
    if state != "skipped":
        await report_end(store, ctx["gateway"].webhooks, job_id)
    return state


async def report_end(store: RagJobStore, webhooks: WebhookSender, job_id: str) -> None:
    """The job's webhook, if it has one: put in the webhook outbox (the job does not wait)."""
    url = await store.redis.hget(store.key(job_id), "callback_url")
    record = await store.get(job_id) if url else None
    if record is not None:
        error = record.error.model_dump(mode="json") if record.error else None
        await webhooks.send(url.decode(), finished_event(job_id, record.state, error))


def build_worker(
    settings: GatewaySettings,
    gateway: Any,
    *,
    stopping: threading.Event,
    observe: Callable[[RagResponse], None],
):
    """An arq worker for RAG jobs, sharing the gateway's clients, cache and orchestrator."""
    from arq import Worker, func

    if not settings.job_store_url:
        raise ValueError("GATEWAY_REDIS_URL is not set: RAG jobs need Redis")
    redis = connect_redis(settings.job_store_url, settings.redis_timeout_s)
    return Worker(
        # A job whose gateway died or stopped mid-run runs again elsewhere, from the start.
        functions=[func(rag_job, name=FUNCTION, max_tries=3, timeout=settings.job_timeout_s + 60)],
        queue_name=settings.job_queue_name,
        redis_pool=redis,
        max_jobs=settings.job_concurrency,
        poll_delay=settings.job_poll_s,
        keep_result=60,  # arq's own result is unused: the job record holds ours
        handle_signals=False,  # uvicorn owns the signals; the lifespan stops the worker
        ctx={
            "gateway": gateway,
            "store": RagJobStore(redis, ttl_s=settings.job_ttl_s),
            "settings": settings,
            "stopping": stopping,
            "observe": observe,
        },
    )
