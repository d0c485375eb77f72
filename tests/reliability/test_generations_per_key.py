"""One key cannot take all of generation (issue 16, finding 8): past
GATEWAY_MAX_GENERATIONS_PER_KEY generating requests in flight, the same key gets 429 with
Retry-After at once, while another key is served. Real processes: the gateway restarted with two
keys and a bound of 1, generation keeping its own bound of 2 (so without the per-key bound the
second request of the first key would take generation's last slot and be served).
"""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.helpers import assert_envelope
from tests.reliability.conftest import wait_until

pytestmark = pytest.mark.e2e

KEYS = ("alice-reliability-key", "bob-reliability-key")
INFLIGHT = "batik_inflight_requests"


def _rag(url: str, key: str, steps: int, seed: int) -> httpx.Response:
    body = {"text": "batik nitik", "generate": True, "steps": steps, "seed": seed}
    return httpx.post(f"{url}/v1/rag", json=body, headers={"X-API-Key": key}, timeout=300)


@pytest.fixture
def keyed_gateway(reliability_stack):
    env = {
        "GATEWAY_API_KEYS": ",".join(
            f"sha256:{hashlib.sha256(k.encode()).hexdigest()}" for k in KEYS
        ),
        "GATEWAY_MAX_GENERATIONS_PER_KEY": "1",
        "GATEWAY_GENERATION_SIZE": "256",  # long enough a run to overlap the others
    }
    with reliability_stack.reconfigured("gateway", env) as stack:
        yield stack


def test_a_second_generation_of_one_key_is_refused_while_another_key_is_served(keyed_gateway):
    stack = keyed_gateway
    url = stack.url("gateway")
    alice, bob = KEYS
    with ThreadPoolExecutor(1) as pool:
        long_run = pool.submit(_rag, url, alice, 150, 1)
        wait_until(
            lambda: stack.metric("generation", INFLIGHT) == 1 or long_run.done(),
            60,
            "alice's run to reach generation",
        )
        again = _rag(url, alice, 2, 2)
        still_running = not long_run.done()
        # Bob takes generation's second slot (and waits for its lock behind alice's run).
        other = _rag(url, bob, 2, 3)
        first = long_run.result()
    assert first.status_code == 200, first.text
    error = assert_envelope(again, 429, "overloaded")
    assert int(again.headers["Retry-After"]) >= 1
    assert "GATEWAY_MAX_GENERATIONS_PER_KEY" in error["message"]  # the gateway's, not generation's
    assert still_running, "alice's long run ended before her second request: inconclusive"
    assert other.status_code == 200, other.text
    # The slot is given back: alice may generate again.
    assert _rag(url, alice, 2, 4).status_code == 200
