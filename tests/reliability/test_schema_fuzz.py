"""Schema fuzzing: schemathesis drives every operation of each service's and the gateway's OpenAPI,
over real HTTP to the running processes (tiny models), with valid and invalid inputs.

Each response must: not be a 5xx, match its declared status codes, content type and schema, reject
schema-invalid input, and, when it is an error, be the `{"error": {type, message, request_id}}`
envelope with the status the one table gives its type.

The number of examples per operation is bounded for CI (`BATIK_FUZZ_EXAMPLES`, default 12); a
deeper run: `BATIK_FUZZ_EXAMPLES=200 pytest tests/reliability/test_schema_fuzz.py`.
"""

from __future__ import annotations

import os
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from tests.schema_checks import error_envelope, sent_as_generated

pytestmark = pytest.mark.e2e

EXAMPLES = int(os.environ.get("BATIK_FUZZ_EXAMPLES", "12"))
SERVICES = ("retrieval", "captioning", "generation", "gateway")


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
    error_envelope,
]

# What holds for a case whatever reaches the wire (see sent_as_generated).
WIRE_CHECKS = [check for check in CHECKS if check is not negative_data_rejection]

# Valid but costly values shrink to cheap valid ones (64 px, 10 steps, 1 image): the fuzzer still
# reaches every branch, and CI does not spend minutes in denoising loops. Invalid values are kept.
_CHEAPER = {"width": (64, 1024, 64), "height": (64, 1024, 64), "steps": (1, 150, 10)}


def cheaper(body):
    if not isinstance(body, dict):
        return body
    body = dict(body)
    for name, (low, high, cheap) in _CHEAPER.items():
        value = body.get(name)
        if type(value) is int and low <= value <= high and value > cheap:
            body[name] = cheap
    if type(body.get("num_images")) is int and 1 <= body["num_images"] <= 8:
        body["num_images"] = 1
    return body


def fuzz_operation(operation, base_url: str, statuses: Counter) -> None:
    """Valid and invalid cases of one operation, plus the examples its schema declares."""
    strategy = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
        *operation.schema.get_strategies_from_examples(operation),
    )

    @given(case=strategy)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,  # the same cases in every CI run: a failure is reproducible
        phases=[Phase.explicit, Phase.generate],  # no shrinking: each step is a real request
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    def run(case):
        if isinstance(case.body, dict):
            case.body = cheaper(case.body)
        checks = CHECKS if sent_as_generated(case) else WIRE_CHECKS
        response = case.call_and_validate(base_url=base_url, checks=checks, timeout=120)
        statuses[response.status_code] += 1

    run()


@pytest.mark.parametrize("service", SERVICES)
def test_every_operation_holds_its_contract(reliability_stack, service):
    url = reliability_stack.url(service)
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 4, [op.label for op in operations]
    failures, statuses = [], Counter()
    for operation in operations:
        try:
            fuzz_operation(operation, url, statuses)
        except Exception as exc:  # keep going: one run reports every operation that fails
            failures.append(f"{operation.label}: {exc}")
    assert not failures, "\n\n".join(failures)
    print(f"{service}: {len(operations)} operations, statuses {dict(sorted(statuses.items()))}")
    # Both kinds of input got through: some accepted, some refused in the envelope.
    assert any(200 <= s < 300 for s in statuses), statuses
    assert any(400 <= s < 500 for s in statuses), statuses
