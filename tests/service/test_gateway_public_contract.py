"""Issue 16, finding 10 (the gateway's public surface): unknown and misspelled fields are a 422 that
names them, types are not coerced, `/readyz` answers only the state (the details are behind the key in
`/v1/status`), and a long id is cut in the 404 that names it."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.conftest import wait_ready
from tests.helpers import assert_envelope, gateway_app


@pytest.fixture(scope="module")
def client(tiny_models):
    app = gateway_app(tiny_models, {}, retrieval_url="http://127.0.0.1:9/internal-retrieval")
    with TestClient(app, raise_server_exceptions=False) as client:
        wait_ready(client)
        yield client


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"text": "kawung", "stregth": 0.7}, "stregth"),  # misspelled
        ({"text": "kawung", "strength": True}, "strength"),  # was read as 1.0
        ({"text": "kawung", "generate": "no"}, "generate"),  # was read as True
        ({"text": "kawung", "steps": "20"}, "steps"),
        ({"text": "kawung", "top_k": 2.5}, "top_k"),
    ],
)
def test_public_rag_body_forbids_unknown_fields_and_coercion(client, body, named):
    error = assert_envelope(client.post("/v1/rag", json=body), 422, "validation")
    assert named in error["message"]


def test_public_readyz_answers_only_the_state(client):
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json() == {"status": "ready"}
    assert "internal-retrieval" not in ready.text
    status = client.get("/v1/status")
    assert status.status_code == 200
    assert status.json()["upstreams"]["retrieval"] == "http://127.0.0.1:9/internal-retrieval"


def test_long_ids_are_cut_in_404_messages(client):
    long_id = "x" * 5000
    error = assert_envelope(client.get(f"/v1/designs/{long_id}"), 404, "not_found")
    assert len(error["message"]) < 200 and "…" in error["message"]
