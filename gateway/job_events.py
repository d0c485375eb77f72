"""`GET /v1/jobs/{id}/events`: a job's record as a stream of Server-Sent Events.

The stream reads the record the worker keeps (gateway/jobs.py) every GATEWAY_JOB_POLL_S and sends
what changed, so any replica streams any job. Every stage the job started is sent, in order (the
record keeps their history); progress is the latest step at each look:

    event: state      data: {"state": "running"}
    event: stage      data: {"stage": "generation"}
    event: progress   data: {"step": 9, "total": 16}
    event: finished   data: {"job_id", "state", "status_url", "error"}   (then the stream ends)

`finished` is the same body a webhook carries (gateway/webhooks.py). A job whose record expires
while watched ends the stream with `finished` and state `expired`; a job store that stops answering
ends it with `event: error`. A comment line every HEARTBEAT_S keeps proxies from closing a quiet one.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from gateway.jobs import RagJobStore
from gateway.webhooks import finished_event

HEARTBEAT_S = 15.0
TERMINAL = {"succeeded", "failed", "cancelled"}
_FIELDS = ("state", "step", "total", "error")


def sse(event: str, data: dict[str, Any], event_id: int) -> str:
    return f"event: {event}\nid: {event_id}\ndata: {json.dumps(data)}\n\n"


async def job_events(store: RagJobStore, job_id: str, *, poll_s: float) -> AsyncIterator[str]:
    from redis.exceptions import RedisError

    seen: dict[str, str | None] = {}
    sent = stages_sent = 0
    quiet_since = time.monotonic()
    while True:
        try:
            now = await store.fields(job_id, _FIELDS)
            new_stages = await store.stages(job_id, stages_sent)
        except (RedisError, OSError) as exc:
            yield sse("error", {"message": f"the job store stopped answering: {exc}"}, sent)
            return
        events: list[tuple[str, dict[str, Any]]] = []
        if now["state"] is None:
            events.append(("finished", finished_event(job_id, "expired", None)))
        else:
            if now["state"] != seen.get("state"):
                events.append(("state", {"state": now["state"]}))
            events += [("stage", {"stage": stage}) for stage in new_stages]  # each, in order
            stages_sent += len(new_stages)
            progress = (now["step"], now["total"])
            if now["total"] not in (None, "0") and progress != (
                seen.get("step"),
                seen.get("total"),
            ):
                events.append(("progress", {"step": int(now["step"]), "total": int(now["total"])}))
            if now["state"] in TERMINAL:
                error = json.loads(now["error"]) if now["error"] else None
                events.append(("finished", finished_event(job_id, now["state"], error)))
        for name, data in events:
            sent += 1
            yield sse(name, data, sent)
            if name == "finished":
                return
        if events:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since > HEARTBEAT_S:
            quiet_since = time.monotonic()
            yield ": keep-alive\n\n"
        seen = now
        await asyncio.sleep(poll_s)
