"""The checked-in specs (openapi/*.json, what clients are generated from) are what the services
serve: a change to a route or a contract without `make openapi` fails here."""

from __future__ import annotations

import importlib.util

import pytest

from tests.helpers import REPO_ROOT

_spec = importlib.util.spec_from_file_location("openapi_script", REPO_ROOT / "scripts/openapi.py")
openapi_script = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(openapi_script)


@pytest.mark.parametrize("service", openapi_script.APPS)
def test_the_checked_in_spec_is_the_served_one(service):
    path = REPO_ROOT / "openapi" / f"{service}.json"
    assert path.is_file(), f"openapi/{service}.json is missing: run `make openapi`"
    served = openapi_script.render(service)
    assert path.read_text() == served, (
        f"openapi/{service}.json differs from what {service} serves at /openapi.json: "
        "run `make openapi` (then `make clients` for the gateway) and commit the result"
    )


def test_the_python_client_is_generated_from_the_checked_in_gateway_spec():
    import hashlib

    spec = (REPO_ROOT / "openapi" / "gateway.json").read_bytes()
    recorded = (REPO_ROOT / "clients" / "python" / "openapi.sha256").read_text().strip()
    assert recorded == hashlib.sha256(spec).hexdigest(), (
        "clients/python was generated from another openapi/gateway.json: run `make clients`"
    )
