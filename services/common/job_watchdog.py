"""Every accepted job reaches a state its client can read.

A job can be stranded without anyone noticing: its queue entry lost (a job Redis restarted without
persistence, or an evicting one), or its worker killed mid-run so that no one reports on it. The
watchdog sweeps the job records now and then and moves such a job to `failed` with the reason:

- `queued`, older than `grace_s`, and absent from arq's queue: its queue entry vanished;
- `running`, quiet for `grace_s`, with neither arq's in-progress mark nor a queue entry: its worker
  and its queue entry vanished;
- `running`, quiet for `grace_s`, and what it waits on is gone, as the service's `quiet_check` tells
  (a RAG job whose generation job vanished or ended with no one collecting it): its worker is gone,
  though arq's in-progress mark stays until the job's time limit;
- `running` and quiet for `stale_s` (the job's time limit plus a margin) however it looks: no worker
  is running it any more (a live one would have stopped it at its time limit).

Every process with a job store runs one; sweeps are idempotent (each move is a compare-and-set on
the record's state), so replicas may sweep at the same time.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from services.common.errors import ErrorType
from services.common.jobs import JOB_ID, JobError, JobQueue

log = logging.getLogger(__name__)

_ARQ_IN_PROGRESS = "arq:in-progress:"  # arq.constants.in_progress_key_prefix


# A service's own look at a running job that has gone quiet: why it is stranded, or None.
QuietCheck = Callable[[str], Awaitable[str | None]]
# Told of each job a sweep failed (the gateway sends its `job.finished` webhook).
OnFailed = Callable[[str], Awaitable[None]]


class JobWatchdog:
    def __init__(
        self,
        queue: JobQueue,
        *,
        grace_s: float,
        stale_s: float,
        quiet_check: QuietCheck | None = None,
        on_failed: OnFailed | None = None,
    ) -> None:
        self.queue = queue
        self.grace_s = grace_s
        self.stale_s = stale_s
        self.quiet_check = quiet_check
        self.on_failed = on_failed

    async def _reason(self, job_id: str, state: str, quiet_s: float) -> str | None:
        redis = self.queue.redis
        if quiet_s < self.grace_s or state not in ("queued", "running"):
            return None
        queued = await redis.zscore(self.queue.queue_name, job_id) is not None
        if state == "queued":
            if queued:
                return None
            return "its queue entry vanished from the job store; submit it again"
        if not queued and not await redis.exists(_ARQ_IN_PROGRESS + job_id):
            return "its worker and its queue entry vanished; submit it again"
        if self.quiet_check is not None:
            try:
                reason = await self.quiet_check(job_id)
            except Exception as exc:  # what it waits on does not answer: no verdict this sweep
                log.info("job watchdog: could not check job %s (%s)", job_id, exc)
                reason = None
            if reason is not None:
                return reason
        if quiet_s > self.stale_s:
            return f"no worker has reported on it for {quiet_s:.0f} s (its worker vanished)"
        return None

    async def sweep(self) -> dict[str, str]:
        """One pass over the records: the jobs moved to `failed`, with their reasons."""
        store, redis = self.queue.store, self.queue.redis
        prefix = f"{store.namespace}:"
        failed: dict[str, str] = {}
        async for key in redis.scan_iter(match=prefix + "*", count=500):
            job_id = key.decode()[len(prefix) :]
            if not JOB_ID.fullmatch(job_id):  # a job's blobs, not its record
                continue
            state, updated_at = await redis.hmget(key, "state", "updated_at")
            if state is None or updated_at is None:
                continue
            state = state.decode()
            reason = await self._reason(job_id, state, time.time() - float(updated_at))
            if reason is None:
                continue
            error = JobError(type=ErrorType.INTERNAL, message=f"the job was stranded: {reason}")
            applied, _ = await store.transition(
                job_id, {state}, {"state": "failed", "error": error.model_dump_json()}
            )
            if applied:
                log.warning("job %s moved to failed: %s", job_id, reason)
                failed[job_id] = reason
                await self._tell_failed(job_id)
        return failed

    async def _tell_failed(self, job_id: str) -> None:
        if self.on_failed is None:
            return
        try:
            await self.on_failed(job_id)
        except Exception as exc:  # the job is failed either way; the sweep goes on
            log.warning("job watchdog: on_failed(%s) failed (%s)", job_id, exc)

    async def run(self, interval_s: float) -> None:
        """Sweep every `interval_s` until cancelled; a job store that does not answer is retried."""
        while True:
            await asyncio.sleep(interval_s)
            try:
                await self.sweep()
            except Exception as exc:  # Redis down: the job routes already answer 503
                if asyncio.current_task().cancelling():
                    # A client library turned our cancellation into its own error: stop anyway.
                    raise asyncio.CancelledError from exc
                log.warning("job watchdog: sweep failed (%s)", exc.__class__.__name__)
