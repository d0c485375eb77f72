"""The library's wire contract and the domain-error mapping every service shares."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import ValidationError

from services.common.contracts.library import (
    BOARD_ID,
    DESIGN_ID,
    DesignCreate,
    DesignUpdate,
    NearestRequest,
)
from services.common.errors import (
    InvalidInputError,
    NotFoundError,
    QuotaExceededError,
    StoreUnavailableError,
    install_error_handlers,
)


def test_tags_are_stripped_and_deduplicated():
    design = DesignCreate(image_b64="eA==", tags=[" kawung ", "kawung", "sogan"])
    assert design.tags == ["kawung", "sogan"]


@pytest.mark.parametrize(
    "fields",
    [{"tags": [""]}, {"tags": ["x"] * 21}, {"embedding": []}, {"image_b64": ""}],
)
def test_bad_design_fields_are_refused(fields):
    with pytest.raises(ValidationError):
        DesignCreate(**{"image_b64": "eA==", **fields})


def test_update_refuses_unknown_fields_and_keeps_unsent_ones_unset():
    with pytest.raises(ValidationError):
        DesignUpdate(owner="someone-else")
    assert DesignUpdate(favorite=True).model_dump(exclude_unset=True) == {"favorite": True}


def test_nearest_limit_is_bounded():
    with pytest.raises(ValidationError):
        NearestRequest(embedding=[1.0], limit=0)


def test_id_patterns_tell_designs_from_boards():
    assert DESIGN_ID.fullmatch("d_" + "0" * 20) and not BOARD_ID.fullmatch("d_" + "0" * 20)
    assert not DESIGN_ID.fullmatch("d_" + "0" * 19)


@pytest.mark.parametrize(
    ("error", "status", "kind"),
    [
        (NotFoundError("no design d_1"), 404, "not_found"),
        (InvalidInputError("bad cursor"), 422, "validation"),
        (QuotaExceededError("library full"), 409, "quota_exceeded"),
        (StoreUnavailableError("database down"), 503, "store_unavailable"),
    ],
)
def test_domain_errors_answer_in_the_envelope(error, status, kind):
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/boom")
    def boom():
        raise error

    answer = TestClient(app).get("/boom")
    assert answer.status_code == status
    assert answer.json()["error"]["type"] == kind
    assert answer.json()["error"]["message"] == str(error)
    if status == 503:
        assert answer.headers["retry-after"] == "5"
