"""One deadline per RAG request, shared by its stages (GATEWAY_RAG_DEADLINE_S).

The orchestrator opens it with `within(seconds)`; every upstream call made inside reads `time_left()`
and waits no longer than that, so a slow early stage leaves less time to later ones instead of each
stage waiting out its own full timeout. A context variable carries it, so the clients need no extra
argument and calls made outside a RAG request (jobs, /v1/embed, the library) have no deadline.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_deadline: ContextVar[float | None] = ContextVar("rag_deadline", default=None)


@contextmanager
def within(seconds: float | None) -> Iterator[None]:
    """Calls inside share one deadline `seconds` from now; None: no deadline."""
    token = _deadline.set(None if seconds is None else time.monotonic() + seconds)
    try:
        yield
    finally:
        _deadline.reset(token)


def time_left() -> float | None:
    """Seconds until the current deadline (0 once past it), or None without one."""
    deadline = _deadline.get()
    return None if deadline is None else max(0.0, deadline - time.monotonic())
