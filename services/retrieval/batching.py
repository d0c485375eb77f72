"""Micro-batching: concurrent embedding requests share one model call.

Request threads hand their inputs to a `MicroBatcher` and block on a future. One worker thread takes
what is queued, waits up to `max_wait_s` for more while the batch is smaller than `max_batch`, runs the
model once, and hands each caller its own rows. One model call per batch instead of one per request is
where the throughput comes from (a GPU, or CPU matrix kernels, do a batch of 32 in far less than 32
times one); the wait only applies while the model is idle, so under load batches fill on their own.

The worker is also the only thread that calls the model, which keeps tokenizers (not thread-safe)
and the model away from concurrent use.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Generic, TypeVar

import numpy as np

log = logging.getLogger(__name__)

T = TypeVar("T")
_STOP = object()


class MicroBatcher(Generic[T]):
    def __init__(
        self,
        embed: Callable[[list[T]], np.ndarray],
        *,
        max_batch: int,
        max_wait_s: float,
        name: str = "batcher",
    ) -> None:
        if max_batch < 1 or max_wait_s < 0:
            raise ValueError("max_batch must be >= 1 and max_wait_s >= 0")
        self._embed = embed
        self.max_batch = max_batch
        self.max_wait_s = max_wait_s
        self._queue: queue.Queue = queue.Queue()
        self.batches = 0  # model calls made, for tests and metrics
        self.items = 0
        self._worker = threading.Thread(target=self._run, name=name, daemon=True)
        self._worker.start()

    def submit(self, inputs: Sequence[T]) -> list[Future]:
        """One future per input; each resolves to that input's embedding row."""
        if not self._worker.is_alive():
            raise RuntimeError("the embedding worker has stopped")
        futures = []
        for item in inputs:
            future: Future = Future()
            self._queue.put((item, future))
            futures.append(future)
        return futures

    def embed(self, inputs: Sequence[T]) -> np.ndarray:
        """Embeddings of `inputs` in order, computed in whatever batches the worker forms."""
        rows = [future.result() for future in self.submit(inputs)]
        return np.stack(rows) if rows else np.zeros((0, 0), dtype=np.float32)

    def close(self) -> None:
        self._queue.put(_STOP)
        self._worker.join(timeout=5)

    def _collect(self) -> list[tuple[T, Future]] | None:
        first = self._queue.get()
        if first is _STOP:
            return None
        batch = [first]
        deadline = time.monotonic() + self.max_wait_s
        while len(batch) < self.max_batch:
            try:
                # Take what is already queued at once; wait for more only until the deadline.
                entry = self._queue.get_nowait()
            except queue.Empty:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    entry = self._queue.get(timeout=remaining)
                except queue.Empty:
                    break
            if entry is _STOP:
                self._queue.put(_STOP)  # finish this batch, then stop
                break
            batch.append(entry)
        return batch

    def _run(self) -> None:
        while (batch := self._collect()) is not None:
            live = [
                (item, future) for item, future in batch if future.set_running_or_notify_cancel()
            ]
            if not live:
                continue
            try:
                vectors = self._embed([item for item, _ in live])
                self.batches += 1
                self.items += len(live)
                for (_, future), row in zip(live, vectors, strict=True):
                    future.set_result(row)
            except Exception:
                # One bad input must not fail the others: retry each on its own.
                log.warning("a batch of %d failed; embedding its inputs one by one", len(live))
                for item, future in live:
                    if future.done():
                        continue
                    try:
                        future.set_result(self._embed([item])[0])
                    except Exception as exc:
                        future.set_exception(exc)
