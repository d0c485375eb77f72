"""Schemathesis on every operation of the gateway's spec, in process (the gateway, its three upstreams
and the library on tiny models, a real Redis for jobs), with the positive and the negative checks:

- positive (ST202, `positive_data_acceptance`): a request the schema calls valid is not refused as
  malformed (400, 413, 415, 422); it may still be refused for what no schema can know (an id that
  is nobody's: 404; a style that is not served);
- negative (ST201, `negative_data_rejection`): a request the schema calls invalid is refused with a
  4xx, never served;
- every answer is in the declared statuses, content types, headers and schemas, and every error the
  envelope with its type's status.

The schema states every rule of the request it can; what it cannot, a positive case is made to keep
(`realise`): a real image where it says "base64 of a PNG, JPEG or WebP" (and a real file in the
upload form), integers as JSON integers (12, not 12.0), img2img's int(steps * strength) >= 1, only the styles the generation service serves,
the motif numbers the index holds, no page cursor the library did not give out, and no ControlNet or preview (the tiny stack loads neither),
no `callback_url` (its target must be public and the gateway hold a webhook secret), and a fresh
`Idempotency-Key` per case (one key with two bodies is `idempotency_mismatch`), and signed image
URLs signed right (a signature is a secret's, not the schema's). Few examples per operation (BATIK_SCHEMA_EXAMPLES, default 6): the whole file runs in about a
minute; tests/reliability/test_schema_fuzz.py fuzzes all services deeper over real HTTP.
"""

from __future__ import annotations

import base64
import hashlib
import io
import math
import os
import uuid
from collections import Counter
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from PIL import Image
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

from gateway.signed_urls import UrlSigner
from tests.helpers import gateway_app, served
from tests.schema_checks import error_envelope

EXAMPLES = int(os.environ.get("BATIK_SCHEMA_EXAMPLES", "6"))
URL_SECRET = "schema-check-url-secret"
KEY = "schema-check-key-0123456789"
AUTH = {"X-API-Key": KEY}
# Schema-valid requests may still be refused for what no schema knows; never as malformed.
POSITIVE_OK = ["2XX", "304", "404", "409", "429"]


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


def _png(settings: str | None = None) -> bytes:
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    if settings is not None:
        info.add_text("parameters", settings)
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), (120, 60, 20)).save(buffer, "PNG", pnginfo=info)
    return buffer.getvalue()


PNG = _png()
# What importDesign reads: another tool's settings (a PNG without any is refused, as it should be).
PNG_WITH_SETTINGS = _png("kawung nitik\nSteps: 10, Sampler: DDIM, CFG scale: 7, Seed: 3")


def _integer_fields() -> set[str]:
    """Every request property the gateway's spec declares an integer (a float there is 12.0)."""
    import json

    from tests.helpers import REPO_ROOT

    spec = json.loads((REPO_ROOT / "openapi" / "gateway.json").read_text())
    names = set()
    for schema in spec["components"]["schemas"].values():
        for name, prop in schema.get("properties", {}).items():
            options = [prop, *prop.get("anyOf", [])]
            if any(option.get("type") == "integer" for option in options):
                names.add(name)
    return names


INTEGER_FIELDS = _integer_fields()
PNG_B64 = base64.b64encode(PNG).decode()


def realise(case, served_styles: set[str], motifs: list[int]) -> None:
    """Make a positive case keep the rules the schema cannot state (see the module's docstring)."""
    if case.path.startswith("/v1/signed/"):
        # A signed image URL: signed right, as the gateway hands them out (then 200 or 404).
        signed = dict(case.query or {})
        owner = {"owner": str(signed["owner"])} if "owner" in signed else {}
        url = UrlSigner(URL_SECRET, ttl_s=3600).sign(case.formatted_path, owner)
        case.query = {**signed, **dict(parse_qsl(urlsplit(url).query))}
    if case.headers and "Idempotency-Key" in case.headers:
        # One key with two bodies is `idempotency_mismatch` (422): each case its own key.
        case.headers = {**case.headers, "Idempotency-Key": uuid.uuid4().hex}
    # Copies: hypothesis may build another case (a negative one too) on the same objects.
    if isinstance(case.query, dict):  # a cursor is an opaque token only the library makes
        case.query = {k: v for k, v in case.query.items() if k != "cursor"}
    if not isinstance(case.body, dict):
        return
    body = case.body = dict(case.body)
    # JSON Schema's integer admits 12.0; the public bodies are strict and want 12 (docs/API.md).
    for name, value in list(body.items()):
        if isinstance(value, float) and value.is_integer() and name in INTEGER_FIELDS:
            body[name] = int(value)
    if isinstance(body.get("image"), str):
        body["image"] = PNG_B64
    if "image" in body and case.media_type == "multipart/form-data":
        imported = case.operation.definition.raw["operationId"] == "importDesign"
        body["image"] = PNG_WITH_SETTINGS if imported else PNG
    if isinstance(body.get("motifs"), list):  # the index's motif numbers are data, not schema
        body["motifs"] = motifs[: max(1, len(body["motifs"]))]
    elif isinstance(body.get("motifs"), str):
        body["motifs"] = ",".join(map(str, motifs))
    if body.get("style") not in (None, *served_styles):
        body.pop("style")
    if isinstance(body.get("styles"), list | str):
        body.pop("styles")
    steps, strength = body.get("steps", 30), body.get("strength", 0.55)
    if isinstance(steps, int) and isinstance(strength, float | int) and steps * strength < 1:
        body["steps"] = min(150, math.ceil(1 / strength)) if strength > 0 else steps
    # Cheap: the cases reach every branch without minutes in the denoising loop.
    if isinstance(body.get("steps"), int) and body["steps"] > 8:
        body["steps"] = max(8, math.ceil(1 / float(body.get("strength", 0.55) or 1)))
    # ControlNet and the preview LoRA are a deployment's choice (GENERATION_CONTROLNET,
    # GENERATION_PREVIEW_LORA): the tiny stack has neither, and says so with a 422.
    body.pop("control_scale", None)
    body.pop("preview", None)
    # A webhook target must resolve to a public address and the gateway must hold a webhook secret
    # (gateway/webhooks.py): a deployment's facts, refused with a 422 here.
    body.pop("callback_url", None)


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


# What holds for a case whatever reaches the wire (see sent_as_generated).
WIRE_CHECKS = [check for check in CHECKS if check is not negative_data_rejection]


@pytest.fixture(scope="module")
def gateway_url(tiny_models, retrieval_client, captioning_client, generation_client, redis_server,
                tmp_path_factory):  # fmt: skip
    """The gateway served on a loopback port (one event loop for its clients, Redis and worker),
    calling its upstreams in process and the library over HTTP."""
    from services.library.app import create_app as create_library
    from services.library.config import LibrarySettings

    library = create_library(LibrarySettings(dir=tmp_path_factory.mktemp("library")))
    apps = {
        "retrieval": retrieval_client.app,
        "captioning": captioning_client.app,
        "generation": generation_client.app,
    }
    with served(library) as library_url:
        app = gateway_app(
            tiny_models,
            apps,
            library_url=library_url,
            api_keys="sha256:" + hashlib.sha256(KEY.encode()).hexdigest(),
            redis_url=redis_server.url,
            job_poll_s=0.02,
            url_secret=URL_SECRET,
            rate_limit_per_window=1_000_000,  # counted (RateLimit-* headers), never reached
        )
        with served(app) as url:
            yield url


def test_every_gateway_operation_passes_the_positive_and_negative_checks(gateway_url):
    config = SchemathesisConfig.from_dict(
        {"checks": {"positive_data_acceptance": {"expected-statuses": POSITIVE_OK}}}
    )
    schema = schemathesis.openapi.from_url(f"{gateway_url}/openapi.json", config=config)
    styles = httpx.get(f"{gateway_url}/v1/styles", headers=AUTH, timeout=30).json()["styles"]
    served_styles = {style["name"] for style in styles}
    found = httpx.post(
        f"{gateway_url}/v1/rag",
        json={"text": "kawung", "generate": False, "top_k": 20},
        headers=AUTH,
        timeout=60,
    ).json()["references"]
    motifs = sorted({hit["motif"]["number"] for hit in found})
    operations = [result.ok() for result in schema.get_all_operations()]
    ids = {op.definition.raw["operationId"] for op in operations}
    assert {"rag", "ragUpload", "createJob", "getJob", "cancelJob", "getReferenceImage"} <= ids
    failures, statuses = [], Counter()
    for operation in operations:
        positive = operation.as_strategy(GenerationMode.POSITIVE)
        negative = operation.as_strategy(GenerationMode.NEGATIVE)
        examples = operation.schema.get_strategies_from_examples(operation)

        @given(case=st.one_of(positive, negative, *examples))
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,  # the same cases each run: a failure is reproducible
            phases=[Phase.explicit, Phase.generate],  # no shrinking: each case is a request
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def run(case):
            case.headers = {**(case.headers or {}), **AUTH}
            if body_is_positive(case):
                realise(case, served_styles, motifs)
            checks = CHECKS if sent_as_generated(case) else WIRE_CHECKS
            response = case.call_and_validate(base_url=gateway_url, checks=checks, timeout=120)
            statuses[response.status_code] += 1

        try:
            run()
        except Exception as exc:  # one run reports every operation that fails
            failures.append(f"{operation.label}: {exc}")
    assert not failures, "\n\n".join(failures)
    print(f"gateway: {len(operations)} operations, statuses {dict(sorted(statuses.items()))}")
    assert any(200 <= s < 300 for s in statuses) and any(400 <= s < 500 for s in statuses)
