"""Schemathesis on every operation of the gateway's spec, in process (the gateway, its three upstreams
and the library on tiny models, a real Redis for jobs), with the positive (ST202) and the negative
(ST201) checks and the conformance ones (tests/schema_checks.py says which, and the rules every
service shares).

The schema states every rule of the request it can; what it cannot, a positive case is made to keep
(`realise`): a real image where it says "base64 of a PNG, JPEG or WebP" (and a real file in the
upload form), integers as JSON integers (12, not 12.0), img2img's int(steps * strength) >= 1, only the styles the generation service serves,
the motif numbers the index holds, no page cursor the library did not give out, and no ControlNet or preview (the tiny stack loads neither),
no `callback_url` (its target must be public and the gateway hold a webhook secret), and a fresh
`Idempotency-Key` per case (one key with two bodies is `idempotency_mismatch`), and signed image
URLs signed right (a signature is a secret's, not the schema's). Few examples per operation (BATIK_SCHEMA_EXAMPLES, default 6): the whole file runs in about a
minute; tests/service/test_service_schema_checks.py does the same for the four internal services,
and tests/reliability/test_schema_fuzz.py fuzzes all services deeper over real HTTP.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import uuid
from collections import Counter
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from gateway.signed_urls import UrlSigner
from tests.helpers import REPO_ROOT, gateway_app, served
from tests.schema_checks import (
    PNG,
    PNG_WITH_SETTINGS,
    check_every_operation,
    image_fields,
    integer_fields,
    integral_floats_as_ints,
    load_schema,
    real_images,
    realised_copy,
)

EXAMPLES = int(os.environ.get("BATIK_SCHEMA_EXAMPLES", "6"))
URL_SECRET = "schema-check-url-secret"
KEY = "schema-check-key-0123456789"
AUTH = {"X-API-Key": KEY}
# Schema-valid requests may still be refused for what no schema knows; never as malformed.
POSITIVE_OK = ["2XX", "304", "404", "409", "429"]
SPEC = json.loads((REPO_ROOT / "openapi" / "gateway.json").read_text())
INTEGER_FIELDS = integer_fields(SPEC)
IMAGE_FIELDS = image_fields(SPEC)


def realise(case, served_styles: set[str], motifs: list[int]) -> None:
    """Make a positive case keep the rules the schema cannot state (see the module's docstring)."""
    body = realised_copy(case)
    if case.path.startswith("/v1/signed/"):
        # A signed image URL: signed right, as the gateway hands them out (then 200 or 404).
        signed = case.query or {}
        owner = {"owner": str(signed["owner"])} if "owner" in signed else {}
        url = UrlSigner(URL_SECRET, ttl_s=3600).sign(case.formatted_path, owner)
        case.query = {**signed, **dict(parse_qsl(urlsplit(url).query))}
    if "Idempotency-Key" in case.headers:
        # One key with two bodies is `idempotency_mismatch` (422): each case its own key.
        case.headers["Idempotency-Key"] = uuid.uuid4().hex
    if isinstance(case.query, dict):  # a cursor is an opaque token only the library makes
        case.query.pop("cursor", None)
    if body is None:
        return
    integral_floats_as_ints(body, INTEGER_FIELDS)
    imported = case.operation.definition.raw["operationId"] == "importDesign"
    real_images(case, body, IMAGE_FIELDS, file=PNG_WITH_SETTINGS if imported else PNG)
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
    schema = load_schema(gateway_url, POSITIVE_OK)
    styles = httpx.get(f"{gateway_url}/v1/styles", headers=AUTH, timeout=30).json()["styles"]
    served_styles = {style["name"] for style in styles}
    found = httpx.post(
        f"{gateway_url}/v1/rag",
        json={"text": "kawung", "generate": False, "top_k": 20},
        headers=AUTH,
        timeout=60,
    ).json()["references"]
    motifs = sorted({hit["motif"]["number"] for hit in found})
    ids = {result.ok().definition.raw["operationId"] for result in schema.get_all_operations()}
    assert {"rag", "ragUpload", "createJob", "getJob", "cancelJob", "getReferenceImage"} <= ids
    statuses = Counter()
    failures = check_every_operation(
        schema,
        gateway_url,
        examples=EXAMPLES,
        realise=lambda case: realise(case, served_styles, motifs),
        headers=AUTH,
        statuses=statuses,
    )
    assert not failures, "\n\n".join(failures)
    print(f"gateway: {len(ids)} operations, statuses {dict(sorted(statuses.items()))}")
    assert any(200 <= s < 300 for s in statuses) and any(400 <= s < 500 for s in statuses)
