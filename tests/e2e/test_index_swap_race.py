"""Ids belong to one index version: a reload between the gateway's search and its reference-image
fetch must not hand it another row's image. A real retrieval process, two real indexes."""

from __future__ import annotations

import asyncio
import base64
import os

import httpx
import pytest

from gateway.clients import RetrievalClient
from gateway.orchestrator import RagOrchestrator, _stopwatch
from services.common.contracts.gateway import RagRequest
from services.launcher import ServiceProcess, wait_ready
from tests.helpers import free_port

pytestmark = pytest.mark.e2e
TOKEN = "swap-test-token"


@pytest.fixture(scope="module")
def two_indexes(tmp_path_factory, tiny_models, synthetic_index):
    from services.retrieval.ingest import ingest
    from services.retrieval.sample_data import write_sample_dataset

    work = tmp_path_factory.mktemp("swap")
    images, workbook = write_sample_dataset(work / "data", instances=1)
    smaller = work / "smaller"
    ingest(images, workbook, smaller, model_source=str(tiny_models["clip"]), progress=False)
    return synthetic_index, smaller


@pytest.fixture(scope="module")
def retrieval(tmp_path_factory, tiny_models, two_indexes):
    process = ServiceProcess(
        "retrieval",
        "services.retrieval.app:app",
        free_port(),
        {
            "RETRIEVAL_MODEL": str(tiny_models["clip"]),
            "RETRIEVAL_INDEX_DIR": str(two_indexes[0]),
            # Both indexes lie under pytest's base temporary directory: the root reload loads from.
            "RETRIEVAL_INDEX_ROOT": str(tmp_path_factory.getbasetemp()),
            "RETRIEVAL_ADMIN_TOKEN": TOKEN,
            "RETRIEVAL_TORCH_THREADS": "1",
            "OMP_NUM_THREADS": "1",
        },
    )
    process.start(dict(os.environ), tmp_path_factory.mktemp("logs"))
    try:
        wait_ready([process], deadline_s=120)
        yield process
    finally:
        process.stop()


def reload(url: str, index_dir) -> None:
    answer = httpx.post(
        f"{url}/v1/index/reload",
        json={"index_dir": str(index_dir)},
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=60,
    )
    assert answer.status_code == 200, answer.text


class ReloadAfterFirstSearch(RetrievalClient):
    """The real client; the test swaps the index right after the first search, as a publish
    landing at the worst moment would."""

    def __init__(self, *args, swap_to, **kwargs):
        super().__init__(*args, **kwargs)
        self.swap_to = swap_to
        self.searches = 0

    async def search(self, request):
        found = await super().search(request)
        self.searches += 1
        if self.searches == 1:
            await asyncio.to_thread(reload, self.base_url, self.swap_to)
        return found


def test_a_stale_index_version_is_404_not_another_image(retrieval, two_indexes):
    first = httpx.post(f"{retrieval.url}/v1/search", json={"text": "kawung"}).json()
    version, top = first["index"]["version"], first["hits"][0]["id"]
    current = httpx.get(f"{retrieval.url}/v1/images/{top}", params={"index_version": version})
    assert current.status_code == 200
    reload(retrieval.url, two_indexes[1])
    try:
        stale = httpx.get(f"{retrieval.url}/v1/images/{top}", params={"index_version": version})
        assert stale.status_code == 404 and "search again" in stale.json()["error"]["message"]
    finally:
        reload(retrieval.url, two_indexes[0])


def test_the_gateway_searches_again_when_the_index_swaps_under_it(retrieval, two_indexes):
    async def scenario():
        client = ReloadAfterFirstSearch(
            "retrieval", retrieval.url, read_timeout_s=60, connect_timeout_s=2, retries=0,
            swap_to=two_indexes[1],
        )  # fmt: skip
        orchestrator = RagOrchestrator(
            retrieval=client, captioning=None, generation=None, cache=None, fuse=None,
            versions=None, key_of=None,
        )  # fmt: skip
        try:
            return await orchestrator._retrieve(RagRequest(text="kawung"), _stopwatch({})), client
        finally:
            await client.aclose()

    try:
        (found, reference), client = asyncio.run(scenario())
        # The answer and its image both come from the new index.
        assert client.searches == 2
        assert found.index.size == 24
        expected = httpx.get(
            f"{retrieval.url}/v1/images/{found.hits[0].id}",
            params={"size": 512, "index_version": found.index.version},
        ).content
        assert base64.b64decode(reference) == expected
    finally:
        reload(retrieval.url, two_indexes[0])
