"""A client that hangs up stops the work done for it.

Starlette runs a handler to the end even when its client is gone, so an abandoned `steps: 150`
generation kept its in-flight slot (and the engine's lock) until it finished, refusing everyone else
(issue 16, finding 8). After the body is read, the server's `receive()` answers only once the
connection closes (`http.disconnect`), so a task waiting on it learns of the hang-up at once:

- `watch_disconnect(request)` sets a `threading.Event` then; `stop_when(gone)` is a step callback
  that raises `ClientDisconnected` from the model's thread, so the run stops within one step.
- `cancel_on_disconnect(request, work)` cancels an awaitable that waits on the loop (the gateway's
  upstream calls; httpx then closes its connection, which the upstream sees as a hang-up in turn).

`ClientDisconnected` is answered 499 (nginx's "client closed request"): nobody reads it, but the
access log and the request metrics show what happened.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

from starlette.requests import Request

T = TypeVar("T")
CLIENT_CLOSED_REQUEST = 499


class ClientDisconnected(Exception):
    """The client closed its connection before the answer was ready."""


async def wait_for_disconnect(request: Request) -> None:
    """Return once the client has closed the connection (the body must have been read)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


@contextlib.asynccontextmanager
async def watch_disconnect(request: Request) -> AsyncIterator[threading.Event]:
    """An event set, from the loop, when the client hangs up while the block runs."""
    gone = threading.Event()

    async def watch() -> None:
        await wait_for_disconnect(request)
        gone.set()

    watcher = asyncio.create_task(watch())
    try:
        yield gone
    finally:
        watcher.cancel()


def stop_when(gone: threading.Event) -> Callable[[int, int], None]:
    """A `progress(done, total)` callback for an engine: raises once `gone` is set."""

    def progress(_done: int, _total: int) -> None:
        if gone.is_set():
            raise ClientDisconnected("the client closed the connection; generation stopped")

    return progress


async def cancel_on_disconnect(request: Request, work: Awaitable[T]) -> T:
    """`await work`, cancelled (then `ClientDisconnected`) if the client hangs up first."""
    task = asyncio.ensure_future(work)  # a copy of this context: the request id carries over
    watcher = asyncio.create_task(wait_for_disconnect(request))
    try:
        await asyncio.wait({task, watcher}, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            return task.result()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task  # what it raised while stopping reaches nobody: the client is gone
        raise ClientDisconnected("the client closed the connection; its request was cancelled")
    finally:
        watcher.cancel()
        task.cancel()  # no-op once done; stops the work if this handler itself is cancelled
