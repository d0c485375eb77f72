"""What every in-process schemathesis run shares: the project's own check (registered once for every
file that runs schemathesis: registering a check twice in one session is an error), the checks run,
and the rules that make a positive case what its schema says it is on the wire.

- positive (ST202, `positive_data_acceptance`): a request the schema calls valid is not refused as
  malformed (400, 413, 415, 422); it may still be refused for what no schema can know (an id that
  is nobody's: 404);
- negative (ST201, `negative_data_rejection`): a request the schema calls invalid is refused with a
  4xx, never served;
- every answer is in the declared statuses, content types, headers and schemas, and every error the
  envelope with its type's status.

A positive case is `realise`d by each file (the rules its schema cannot state); what is common to
every service is here: a fresh copy of what is changed (`realised_copy`), JSON integers for integer
fields (`integral_floats_as_ints`), real images where the schema says base64 or binary
(`real_images`), and which checks hold for a multipart form whose wire form is not the case
(`sent_as_generated`).
"""

from __future__ import annotations

import base64
import io
from collections import Counter
from collections.abc import Callable, Iterable

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from services.common.errors import STATUS, ErrorType


@schemathesis.check
def error_envelope(ctx, response, case) -> bool | None:
    """Every non-2xx/3xx body is the envelope, its type's status, and the request's id; a
    validation error lists each problem in `details`, and no other type has them."""
    if response.status_code < 400:
        return None
    body = response.json()
    assert set(body) == {"error"}, f"not the envelope: {body}"
    error = body["error"]
    assert set(error) - {"details"} == {"type", "message", "request_id"}, error
    assert ("details" in error) == (error["type"] == "validation"), error
    kind = ErrorType(error["type"])
    assert STATUS[kind] == response.status_code, f"{kind} answered with {response.status_code}"
    assert error["message"], error
    assert "x-request-id" in response.headers, f"no X-Request-ID on {response.status_code} {body}"
    assert error["request_id"] == response.headers["x-request-id"][0], error
    return None


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    positive_data_acceptance,
    negative_data_rejection,
    error_envelope,
]
# What holds for a case whatever reaches the wire (see sent_as_generated).
WIRE_CHECKS = [check for check in CHECKS if check is not negative_data_rejection]


def png(settings: str | None = None) -> bytes:
    """A small real PNG; `settings`: another tool's `parameters` text chunk in it."""
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    if settings is not None:
        info.add_text("parameters", settings)
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), (120, 60, 20)).save(buffer, "PNG", pnginfo=info)
    return buffer.getvalue()


PNG = png()
PNG_B64 = base64.b64encode(PNG).decode()
# What a design import reads: another tool's settings (a PNG without any is refused, as it should be).
PNG_WITH_SETTINGS = png("kawung nitik\nSteps: 10, Sampler: DDIM, CFG scale: 7, Seed: 3")


def load_schema(url: str, positive_ok: list[str]):
    """The spec the service serves, with the statuses a schema-valid request may still get for what
    no schema can know (a 404 for an id that is nobody's); never one that says "malformed"."""
    config = SchemathesisConfig.from_dict(
        {"checks": {"positive_data_acceptance": {"expected-statuses": positive_ok}}}
    )
    return schemathesis.openapi.from_url(f"{url}/openapi.json", config=config)


def _options(schema: dict) -> Iterable[dict]:
    yield schema
    for option in schema.get("anyOf", []):
        yield from _options(option)
    if isinstance(schema.get("items"), dict):
        yield from _options(schema["items"])


def _properties(spec: dict) -> Iterable[tuple[str, dict]]:
    for schema in spec.get("components", {}).get("schemas", {}).values():
        yield from schema.get("properties", {}).items()


def integer_fields(spec: dict) -> set[str]:
    """Every request property `spec` declares an integer (a float there may be 12.0)."""
    return {
        name
        for name, prop in _properties(spec)
        if any(option.get("type") == "integer" for option in _options(prop))
    }


def image_fields(spec: dict) -> set[str]:
    """Every property `spec` declares a string in base64 (or a file): an image in every one this
    project serves, where any string passes the schema and only a decodable image the service."""

    def is_image(option: dict) -> bool:
        if option.get("type") != "string" or "enum" in option:
            return False
        return option.get("format") == "binary" or "base64" in option.get("description", "")

    return {name for name, prop in _properties(spec) if any(map(is_image, _options(prop)))}


def realised_copy(case) -> dict | None:
    """Give the case its own headers, query and body before a rule changes them: hypothesis may
    build another case (a negative one too) on the same objects. Returns the body when a dict."""
    case.headers = dict(case.headers or {})
    if isinstance(case.query, dict):
        case.query = dict(case.query)
    if isinstance(case.body, dict):
        case.body = dict(case.body)
        return case.body
    return None


def integral_floats_as_ints(body: dict, integers: set[str]) -> None:
    """JSON Schema's integer admits 12.0; the strict bodies want 12 (docs/API.md)."""
    for name, value in list(body.items()):
        if isinstance(value, float) and value.is_integer() and name in integers:
            body[name] = int(value)


def real_images(case, body: dict, images: set[str], file: bytes = PNG) -> None:
    """A real image where the schema says "an image as base64" (any string passes there), and a
    real `file` in a multipart form's binary fields."""
    for name in images & set(body):
        value = body[name]
        if case.media_type == "multipart/form-data":
            body[name] = file
        elif isinstance(value, str):
            body[name] = PNG_B64
        elif isinstance(value, list):
            body[name] = [PNG_B64 for _ in value]


def body_is_positive(case) -> bool:
    """Whether the case's body (or, without one, the case) is meant valid: a negative case may
    carry a positive header, and realising its body would make it valid."""
    if case.meta is None:
        return False
    components = case.meta.components
    body = next((info for where, info in components.items() if where.name == "BODY"), None)
    return (body.mode if body is not None else case.meta.generation.mode).is_positive


def sent_as_generated(case) -> bool:
    """False for a form whose wire form is not the case: multipart has no null, no list and no
    object (a `[None]` is sent as nothing, `[1, 2]` as two fields), so what arrives may be valid."""
    if case.media_type != "multipart/form-data" or not isinstance(case.body, dict):
        return True
    if any(v is None or isinstance(v, list | dict) for v in case.body.values()):
        return False
    # Every field generated is a field sent; a form of files alone is a negation of a file's
    # schema that arrives as a well-formed file (schemathesis sends bytes for a binary field).
    sent = case.as_transport_kwargs(base_url="http://localhost").get("files") or []
    files = {name for name, part in sent if isinstance(part, tuple) and part[0] is not None}
    return {name for name, _ in sent} == set(case.body) and files != set(case.body)


def check_every_operation(
    schema,
    base_url: str,
    *,
    examples: int,
    realise: Callable[[object], None],
    headers: dict[str, str] | None = None,
    statuses: Counter | None = None,
) -> list[str]:
    """Positive, negative and the spec's own example cases of every operation, each sent with
    `headers`, a positive one `realise`d first; answers one failure per failing operation (empty:
    every operation passed) and counts the statuses seen in `statuses`."""
    statuses = Counter() if statuses is None else statuses
    failures = []
    for operation in [result.ok() for result in schema.get_all_operations()]:
        strategy = st.one_of(
            operation.as_strategy(GenerationMode.POSITIVE),
            operation.as_strategy(GenerationMode.NEGATIVE),
            *operation.schema.get_strategies_from_examples(operation),
        )

        @given(case=strategy)
        @settings(
            max_examples=examples,
            deadline=None,
            derandomize=True,  # the same cases each run: a failure is reproducible
            phases=[Phase.explicit, Phase.generate],  # no shrinking: each case is a request
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def run(case):
            case.headers = {**(case.headers or {}), **(headers or {})}
            if body_is_positive(case):
                realise(case)
            checks = CHECKS if sent_as_generated(case) else WIRE_CHECKS
            response = case.call_and_validate(base_url=base_url, checks=checks, timeout=120)
            statuses[response.status_code] += 1

        try:
            run()
        except Exception as exc:  # one run reports every operation that fails
            failures.append(f"{operation.label}: {exc}")
    return failures
