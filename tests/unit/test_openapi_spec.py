"""The served OpenAPI documents are precise enough to generate clients from (issue 18, part 1):
short unique operation ids across the five specs, the gateway's security schemes with open routes
marked, the headers every answer carries, named shared enums, and the validation problems listed."""

from __future__ import annotations

import importlib
import re
from functools import cache

import pytest

APPS = {
    "gateway": "gateway.app",
    "retrieval": "services.retrieval.app",
    "captioning": "services.captioning.app",
    "generation": "services.generation.app",
    "library": "services.library.app",
}
# Signed image URLs need no key (their signature is the permission) and are not rate-limited.
SIGNED_PATHS = {
    "/v1/signed/designs/{design_id}/image",
    "/v1/signed/jobs/{job_id}/images/{n}",
    "/v1/signed/jobs/{job_id}/previews/{n}",
    "/v1/signed/images/{sha256}",
}
OPEN_PATHS = {"/healthz", "/readyz", "/metrics", *SIGNED_PATHS}
METHODS = {"get", "put", "post", "delete", "patch"}


@cache
def spec(service: str) -> dict:
    return importlib.import_module(APPS[service]).app.openapi()


def operations(service: str):
    for path, item in spec(service)["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def test_operation_ids_are_short_camel_case_and_unique_across_every_service():
    seen: dict[str, str] = {}
    for service in APPS:
        for path, _method, operation in operations(service):
            op_id = operation["operationId"]
            assert re.fullmatch(r"[a-z][A-Za-z0-9]*", op_id), (service, path, op_id)
            if service != "gateway":  # internal services prefix theirs: the specs merge
                assert op_id.startswith(service), (service, path, op_id)
            assert op_id not in seen, f"{op_id} in {seen.get(op_id)} and {service}"
            seen[op_id] = service
    for expected in ("rag", "ragUpload", "createJob", "getJob", "cancelJob", "getReferenceImage"):
        assert seen[expected] == "gateway"
    assert seen["generationCreateJob"] == "generation" and seen["retrievalSearch"] == "retrieval"


def test_the_gateway_declares_its_key_schemes_globally_and_marks_open_routes():
    gateway = spec("gateway")
    schemes = gateway["components"]["securitySchemes"]
    assert schemes["ApiKeyAuth"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": schemes["ApiKeyAuth"]["description"],
    }
    assert schemes["BearerAuth"]["type"] == "http" and schemes["BearerAuth"]["scheme"] == "bearer"
    assert gateway["security"] == [{"ApiKeyAuth": []}, {"BearerAuth": []}]
    for path, _method, operation in operations("gateway"):
        if path in OPEN_PATHS:
            assert operation["security"] == [], path
        else:
            assert "security" not in operation, path  # the global rule applies


def test_internal_admin_routes_declare_the_admin_bearer():
    retrieval = spec("retrieval")
    assert "security" not in retrieval  # internal: no key; only admin routes need a token
    reload = retrieval["paths"]["/v1/index/reload"]["post"]
    assert reload["security"] == [{"AdminBearer": []}]
    assert retrieval["components"]["securitySchemes"]["AdminBearer"]["scheme"] == "bearer"
    assert "authorization" not in {p["name"].lower() for p in reload.get("parameters", [])}


@pytest.mark.parametrize("service", APPS)
def test_every_answer_declares_its_headers(service):
    headers = spec(service)["components"]["headers"]
    assert {"X-Request-ID", "Retry-After", "Location"} <= set(headers)
    for path, _method, operation in operations(service):
        guarded = service == "gateway" and path not in OPEN_PATHS
        for status, response in operation["responses"].items():
            declared = set(response.get("headers", {}))
            assert "X-Request-ID" in declared, (path, status)
            if status in ("429", "503"):
                assert "Retry-After" in declared, (path, status)
            if status == "202":
                assert "Location" in declared, (path, status)
            limits = {"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"}
            assert (limits <= declared) == guarded, (path, status, declared)


def test_shared_enums_are_named_once_and_referenced():
    gateway = spec("gateway")
    schemas = gateway["components"]["schemas"]
    for name in ("JobState", "Stage", "ErrorType", "Symmetry", "InitSource"):
        assert schemas[name]["type"] == "string" and schemas[name]["enum"], name
    rag = schemas["RagRequest"]["properties"]
    assert rag["symmetry"]["$ref"] == "#/components/schemas/Symmetry"
    assert rag["init_source"]["$ref"] == "#/components/schemas/InitSource"
    assert schemas["JobCreated"]["properties"]["state"]["$ref"] == "#/components/schemas/JobState"
    generation = spec("generation")["components"]["schemas"]
    assert generation["GenerateRequest"]["properties"]["symmetry"]["$ref"].endswith("/Symmetry")


def test_validation_errors_declare_their_problem_list():
    detail = spec("gateway")["components"]["schemas"]["ErrorDetail"]["properties"]
    assert detail["details"]["items"]["$ref"] == "#/components/schemas/Problem"
    problem = spec("gateway")["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"loc", "message", "type"}


def without_null(schema: dict) -> dict:
    """A JSON field that may be null, as a form field (a value, or absent)."""
    branches = schema.get("anyOf", [])
    if {"type": "null"} not in branches:
        return schema
    (value,) = [b for b in branches if b != {"type": "null"}]
    rest = {k: v for k, v in schema.items() if k != "anyOf" and not (k == "default" and v is None)}
    return {**value, **rest}


def test_the_upload_form_is_the_json_request_with_the_image_as_a_file():
    gateway = spec("gateway")
    schemas = gateway["components"]["schemas"]
    body = gateway["paths"]["/v1/rag/upload"]["post"]["requestBody"]["content"]
    assert body["multipart/form-data"]["schema"] == {"$ref": "#/components/schemas/RagUploadForm"}
    form, json_body = schemas["RagUploadForm"], schemas["RagRequest"]
    assert form["properties"]["image"]["type"] == "string"
    assert form["properties"]["image"]["format"] == "binary"
    form_only = {"image", "motifs", "styles"}
    assert set(form["properties"]) == set(json_body["properties"])
    for name, declared in json_body["properties"].items():
        if name not in form_only:  # same enums, bounds, defaults and descriptions
            assert form["properties"][name] == without_null(declared), name
    # The cross-field rules are in both: text or image, and the others.
    assert form["allOf"] == json_body["allOf"]
    text_or_image = json_body["allOf"][0]["anyOf"]
    assert [rule["required"] for rule in text_or_image] == [["text"], ["image"]]
    assert "anyOf" not in json_body  # at the top it would split generated models in two


def test_binary_answers_and_served_sizes_are_declared():
    paths = spec("gateway")["paths"]
    photo = paths["/v1/images/{item_id}"]["get"]
    assert photo["responses"]["200"]["content"] == {
        "image/jpeg": {"schema": {"type": "string", "format": "binary"}}
    }
    size = next(p for p in photo["parameters"] if p["name"] == "size")
    assert size["schema"]["enum"] == [224, 512]
    design = paths["/v1/designs/{design_id}/image"]["get"]
    assert design["responses"]["200"]["content"]["image/png"]["schema"]["format"] == "binary"


def _has_example(gateway: dict, content: dict) -> bool:
    if content.get("example") is not None or content.get("examples"):
        return True
    ref = content.get("schema", {}).get("$ref", "")
    return bool(gateway["components"]["schemas"].get(ref.rsplit("/", 1)[-1], {}).get("examples"))


@pytest.mark.parametrize("service", APPS)
def test_every_operation_is_described_with_examples(service):
    """A description on every operation and parameter; an example of every JSON request, answer
    and error (a file upload's bytes need none)."""
    document = spec(service)
    missing = []
    for path, method, operation in operations(service):
        where = f"{method.upper()} {path}"
        if not operation.get("description"):
            missing.append(f"{where}: description")
        missing += [
            f"{where}: parameter {p['name']} description"
            for p in operation.get("parameters", [])
            if not p.get("description")
        ]
        for media, content in operation.get("requestBody", {}).get("content", {}).items():
            if media == "application/json" and not _has_example(document, content):
                missing.append(f"{where}: request example")
        for status, response in operation["responses"].items():
            json_content = response.get("content", {}).get("application/json")
            if json_content is not None and not _has_example(document, json_content):
                missing.append(f"{where}: {status} example")
    assert not missing, "\n".join(missing)


def test_every_example_is_a_valid_instance_of_its_model():
    from services.common.contracts.examples import examples

    for model, example in examples().items():
        model.model_validate(example)  # raises on drift
    schemas = spec("gateway")["components"]["schemas"]
    assert schemas["RagResponse"]["examples"][0]["seed"] == 7
