"""The one error boundary (services/common/errors.py): each domain exception has a type and status,
and an engine's ValueError is a 422 in the envelope, never a 500."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field

from services.common.errors import (
    DOMAIN_ERRORS,
    STATUS,
    BreakerOpenError,
    BusyError,
    ErrorType,
    InvalidInputError,
    NoJobStoreError,
    NotFoundError,
    NotLoadedError,
    OutOfGpuMemoryError,
    QuotaExceededError,
    StoreUnavailableError,
    install_error_handlers,
)
from services.common.logging import RequestIdMiddleware
from tests.helpers import assert_envelope

CASES = [
    (InvalidInputError("bad size"), 422, "validation", None),
    (ValueError("motifs [99] are not in this index"), 422, "validation", None),
    (NotFoundError("no adapter x"), 404, "not_found", None),
    (BusyError("queue full", retry_after_s=5), 429, "overloaded", "5"),
    (BusyError("in flight"), 429, "overloaded", "1"),
    (OutOfGpuMemoryError("out of GPU memory"), 503, "out_of_memory", "5"),
    (NotLoadedError("models are still loading"), 503, "not_ready", "5"),
    (BreakerOpenError("captioning is failing", retry_after_s=12), 503, "breaker_open", "12"),
    (NoJobStoreError("jobs need Redis"), 503, "no_job_store", None),
    (StoreUnavailableError("database down"), 503, "store_unavailable", "5"),
    (QuotaExceededError("library full"), 409, "quota_exceeded", None),
]


class _Model(BaseModel):
    n: int


class _Pair(BaseModel):
    a: int
    b: int = Field(ge=0)


@pytest.fixture(scope="module")
def client():
    app = FastAPI()
    install_error_handlers(app)
    app.add_middleware(RequestIdMiddleware)

    @app.get("/raise/{i}")
    def raise_case(i: int):
        raise CASES[i][0]

    @app.post("/model")
    def takes_a_model(body: _Pair) -> dict:
        return body.model_dump()

    @app.get("/bug")
    def bug():
        raise RuntimeError("a bug nobody mapped")

    @app.get("/own-model-bug")
    def own_model_bug():
        _Model(n="not a number")  # a pydantic ValidationError (a ValueError) of our own making

    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.mark.parametrize("i", range(len(CASES)))
def test_each_refusal_has_its_type_status_and_retry_after(client, i):
    exc, status, kind, retry_after = CASES[i]
    answer = client.get(f"/raise/{i}")
    error = assert_envelope(answer, status, kind)
    assert error["message"] == str(exc)
    assert answer.headers.get("retry-after") == retry_after


def test_a_validation_error_lists_each_problem_beside_the_joined_message(client):
    error = assert_envelope(client.post("/model", json={"b": -1}), 422, "validation")
    assert error["details"] == [
        {"loc": ["body", "a"], "message": "Field required", "type": "missing"},
        {
            "loc": ["body", "b"],
            "message": "Input should be greater than or equal to 0",
            "type": "greater_than_equal",
        },
    ]
    assert error["message"] == "a: Field required; b: Input should be greater than or equal to 0"
    # Other errors have no problem list.
    assert "details" not in assert_envelope(client.get("/raise/2"), 404, "not_found")


def test_an_unmapped_exception_is_a_500_envelope_with_its_request_id(client):
    answer = client.get("/bug", headers={"X-Request-ID": "bug-report-1"})
    error = assert_envelope(answer, 500, "internal")  # also: request_id == the header
    assert error["request_id"] == "bug-report-1"
    assert "nobody mapped" not in error["message"]


def test_our_own_model_failing_is_still_a_500(client):
    error = assert_envelope(client.get("/own-model-bug"), 500, "internal")
    assert "not a number" not in error["message"]


def test_every_domain_exception_and_type_is_in_the_tables():
    assert {kind for kind, _ in DOMAIN_ERRORS.values()} <= set(STATUS)
    assert set(STATUS) == set(ErrorType)
    # The meanings not_ready once had (loading, breaker open, GPU memory, no Redis, the library's
    # store down) are a type each now.
    unavailable = [t for t, s in STATUS.items() if s == 503]
    assert sorted(unavailable) == [
        "breaker_open",
        "no_job_store",
        "not_ready",
        "out_of_memory",
        "store_unavailable",
    ]


def test_the_dashboard_tells_every_error_type_apart():
    from dashboard.labels import label

    titles = {kind: label(f"error.{kind}") for kind in ErrorType if kind is not ErrorType.INTERNAL}
    assert label("error.internal") not in set(titles.values())  # each type has its own title
    assert len(set(titles.values())) == len(titles)
    assert "loading" in titles[ErrorType.NOT_READY] and "Redis" in titles[ErrorType.NO_JOB_STORE]
