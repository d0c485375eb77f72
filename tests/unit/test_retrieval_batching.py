"""MicroBatcher: concurrent requests share model calls and each gets exactly its own rows."""

import threading

import numpy as np
import pytest

from services.retrieval.batching import MicroBatcher


class RecordingModel:
    """A deterministic embedding (one row per input) that records the batches it was called with.

    The first call blocks until `release` is set, so requests arriving meanwhile pile up in the queue:
    which batches form is then decided by the test, not by timing.
    """

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.release = threading.Event()
        self.first_call = threading.Event()

    def __call__(self, inputs: list[int]) -> np.ndarray:
        if any(i < 0 for i in inputs):
            raise ValueError("negative input")
        self.batches.append(list(inputs))
        self.first_call.set()
        self.release.wait(timeout=30)
        return np.array([[i, i * i, 1.0] for i in inputs], dtype=np.float32)


def _concurrently(batcher: MicroBatcher, inputs: list[int]):
    results: dict[int, np.ndarray] = {}

    def call(i: int) -> None:
        results[i] = batcher.embed([i])[0]

    threads = [threading.Thread(target=call, args=(i,)) for i in inputs]
    for thread in threads:
        thread.start()
    return results, threads


def test_requests_queued_while_the_model_is_busy_share_one_call():
    model = RecordingModel()
    batcher = MicroBatcher(model, max_batch=8, max_wait_s=0.0)
    first = threading.Thread(target=batcher.embed, args=([100],))
    first.start()
    assert model.first_call.wait(timeout=30)
    results, threads = _concurrently(batcher, list(range(20)))
    # Wait (with a deadline) until all 20 requests are queued behind the busy first call.
    for _ in range(3000):
        if batcher._queue.qsize() == 20:
            break
        threading.Event().wait(0.01)
    assert batcher._queue.qsize() == 20
    model.release.set()
    for thread in [first, *threads]:
        thread.join(timeout=30)
    assert model.batches[0] == [100]
    assert [len(b) for b in model.batches[1:]] == [8, 8, 4]  # capped at max_batch
    assert sorted(i for b in model.batches[1:] for i in b) == list(range(20))
    for i in range(20):  # every caller got its own row, whatever batch it rode in
        np.testing.assert_array_equal(results[i], [i, i * i, 1.0])
    assert batcher.batches == 4 and batcher.items == 21
    batcher.close()


def test_one_bad_input_fails_only_its_own_request():
    model = RecordingModel()
    model.release.set()
    batcher = MicroBatcher(model, max_batch=8, max_wait_s=0.0)
    futures = batcher.submit([3, -1, 4])
    assert futures[0].result(timeout=30)[1] == 9
    with pytest.raises(ValueError, match="negative input"):
        futures[1].result(timeout=30)
    assert futures[2].result(timeout=30)[1] == 16
    batcher.close()


def test_embed_keeps_input_order_and_an_empty_list_is_empty():
    model = RecordingModel()
    model.release.set()
    batcher = MicroBatcher(model, max_batch=2, max_wait_s=0.0)
    np.testing.assert_array_equal(batcher.embed([5, 1, 3])[:, 0], [5, 1, 3])
    assert batcher.embed([]).shape[0] == 0
    batcher.close()
    with pytest.raises(RuntimeError, match="stopped"):
        batcher.embed([1])


def test_bad_settings_are_refused():
    with pytest.raises(ValueError):
        MicroBatcher(lambda x: x, max_batch=0, max_wait_s=0.0)
    with pytest.raises(ValueError):
        MicroBatcher(lambda x: x, max_batch=1, max_wait_s=-1)


def test_batched_clip_embeddings_equal_one_by_one(tiny_models, synthetic_dataset):
    """The real tiny CLIP: a batch of different-length texts (padding) and of images changes no row."""
    from PIL import Image

    from services.retrieval.encoder import ClipEncoder

    encoder = ClipEncoder(str(tiny_models["clip"]), device="cpu", batch_size=16)
    texts = [
        "kawung",
        "sekar bunga kemuning",
        "a long dotted geometric motif of the nitik kind",
        "x",
    ]
    alone = np.concatenate([encoder.embed_texts([t]) for t in texts])
    batcher = MicroBatcher(encoder.embed_texts, max_batch=16, max_wait_s=0.0)
    np.testing.assert_allclose(batcher.embed(texts), alone, atol=1e-5)
    batcher.close()

    images_dir, _ = synthetic_dataset
    images = [Image.open(p).convert("RGB") for p in sorted(images_dir.glob("*.jpg"))[:5]]
    alone = np.concatenate([encoder.embed_images([im]) for im in images])
    np.testing.assert_allclose(encoder.embed_images(images), alone, atol=1e-5)
