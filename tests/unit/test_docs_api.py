"""The README's "HTTP APIs" rows against the services' OpenAPI: every documented route exists, and
every documented request and response field exists (top-level lists are complete)."""

from __future__ import annotations

import importlib
import json
import re
from functools import cache

import pytest

from tests.helpers import REPO_ROOT

APPS = {
    "gateway": "gateway.app",
    "retrieval": "services.retrieval.app",
    "captioning": "services.captioning.app",
    "generation": "services.generation.app",
    "library": "services.library.app",
}
# `GET /v1/x`, `GET/PATCH/DELETE /v1/x/{id}`, `GET /v1/x?size=`
ROUTE = re.compile(r"`((?:GET|POST|PUT|PATCH|DELETE)(?:/(?:GET|POST|PUT|PATCH|DELETE))*) (/[^`?]*)")


@cache
def openapi(service: str) -> dict:
    return importlib.import_module(APPS[service]).app.openapi()


def api_rows() -> list[tuple[str, list[tuple[str, str]], str]]:
    """(service, [(method, path)], what) for each row of the README's HTTP APIs table."""
    readme = (REPO_ROOT / "README.md").read_text()
    section = readme.split("## HTTP APIs", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        if len(cells) == 3 and ROUTE.search(cells[1]):
            routes = [
                (method, path)
                for methods, path in ROUTE.findall(cells[1])
                for method in methods.split("/")
            ]
            rows.append((cells[0].split()[0], routes, cells[2]))
    return rows


def parse_fields(text: str) -> dict[str, dict | None]:
    """`{a?, b=1, c: {d, e}, f: [{g}]}` -> {"a": None, "b": None, "c": {...}, "f": {...}}."""
    inner = text.strip()[1:-1]
    items, depth, start = [], 0, 0
    for i, ch in enumerate(inner):
        depth += (ch in "{[" and 1) or (ch in "}]" and -1) or 0
        if ch == "," and depth == 0:
            items.append(inner[start:i])
            start = i + 1
    items.append(inner[start:])
    fields: dict[str, dict | None] = {}
    for item in filter(str.strip, items):
        name = re.match(r"\s*(\w+)", item)[1]
        nested = re.match(r"\s*\w+\s*:\s*\[?\s*(\{.*\})\s*\]?\s*$", item, re.S)
        fields[name] = parse_fields(nested[1]) if nested else None
    return fields


def documented_shapes(what: str) -> tuple[dict, dict] | None:
    """The request and response objects of a `{...} to {...}` description."""
    text = what.replace("`", "").replace("\\|", "|")
    objects, depth, start = [], 0, None
    for i, ch in enumerate(text):
        if ch == "{":
            start = i if depth == 0 else start
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                objects.append(text[start : i + 1])
    if len(objects) != 2 or " to " not in text:
        return None
    return parse_fields(objects[0]), parse_fields(objects[1])


def properties(spec: dict, schema: dict) -> dict:
    """The properties of an object schema, through $ref, anyOf/allOf and array items."""
    while True:
        if "$ref" in schema:
            schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
        elif "properties" in schema:  # an object (its allOf, if any, only adds rules)
            return schema["properties"]
        elif "items" in schema:
            schema = schema["items"]
        elif "additionalProperties" in schema and isinstance(schema["additionalProperties"], dict):
            schema = schema["additionalProperties"]
        elif any(k in schema for k in ("anyOf", "allOf", "oneOf")):
            options = [
                s
                for k in ("anyOf", "allOf", "oneOf")
                for s in schema.get(k, [])
                if s != {"type": "null"}
            ]
            schema = options[0]
        else:
            return schema.get("properties", {})


def compare(spec, documented: dict, schema: dict, where: str, *, complete: bool) -> list[str]:
    actual = properties(spec, schema)
    problems = [
        f"{where}: `{name}` is documented but not in the schema"
        for name in documented
        if name not in actual
    ]
    if complete:
        problems += [
            f"{where}: `{name}` is in the schema but not documented"
            for name in actual
            if name not in documented
        ]
    for name, sub in documented.items():
        if sub and name in actual:
            problems += compare(spec, sub, actual[name], f"{where}.{name}", complete=False)
    return problems


def same_shape(path: str) -> str:
    """`/v1/jobs/{id}` and `/v1/jobs/{job_id}` are one route: the README names parameters freely."""
    return re.sub(r"\{\w+\}", "{}", path)


def wrong_defaults(spec, what: str, schema: dict, where: str) -> list[str]:
    """`name=value` in a row's request object against the schema's default."""
    request = documented_shapes(what)[0]
    text = what.replace("`", "").replace("\\|", "|").split(" to ", 1)[0]
    actual = properties(spec, schema)
    problems = []
    for name, value in re.findall(r"(\w+)=(\"\w+\"|[\w.]+)", text):
        if name in request and name in actual:
            documented = json.loads(value)
            if actual[name].get("default") != documented:
                problems.append(
                    f"{where}: `{name}` defaults to {actual[name].get('default')!r}, "
                    f"documented {documented!r}"
                )
    return problems


ROWS = api_rows()


def test_the_readme_documents_routes_of_every_service():
    assert {service for service, _, _ in ROWS} >= {*APPS, "every"}


@pytest.mark.parametrize(
    ("service", "routes", "what"), ROWS, ids=[f"{r[0]} {r[1][0][1]}" for r in ROWS]
)
def test_every_documented_route_and_field_exists(service, routes, what):
    services = list(APPS) if service == "every" else [service]
    problems = []
    for name in services:
        paths = {same_shape(path): ops for path, ops in openapi(name)["paths"].items()}
        for method, path in routes:
            if method.lower() not in paths.get(same_shape(path), {}):
                problems.append(f"{name}: {method} {path} is not a route")
    shapes = documented_shapes(what)
    if shapes:
        (method, path), spec = routes[0], openapi(services[0])
        operation = spec["paths"][path][method.lower()]  # a documented body: a route without {}
        request = operation["requestBody"]["content"]["application/json"]["schema"]
        response = operation["responses"]["200"]["content"]["application/json"]["schema"]
        problems += compare(spec, shapes[0], request, f"{method} {path} request", complete=True)
        problems += wrong_defaults(spec, what, request, f"{method} {path} request")
        problems += compare(spec, shapes[1], response, f"{method} {path} response", complete=True)
    assert not problems, "README's HTTP APIs table:\n" + "\n".join(problems)


def test_the_row_parser_reads_nested_fields_and_the_comparison_can_fail():
    request, response = documented_shapes(
        '`{text?, top_k=5, init_source="a"\\|"b"}` to `{hits: [{id, motif: {name}}], index}`'
    )
    assert request == {"text": None, "top_k": None, "init_source": None}
    assert response == {"hits": {"id": None, "motif": {"name": None}}, "index": None}
    spec = openapi("retrieval")
    search = spec["paths"]["/v1/search"]["post"]
    schema = search["responses"]["200"]["content"]["application/json"]["schema"]
    problems = compare(spec, {"hits": {"no_such_field": None}}, schema, "r", complete=True)
    assert "r.hits: `no_such_field` is documented but not in the schema" in problems
    assert any("is in the schema but not documented" in p for p in problems)
    request = search["requestBody"]["content"]["application/json"]["schema"]
    assert wrong_defaults(spec, "`{top_k=6}` to `{hits}`", request, "r") == [
        "r: `top_k` defaults to 5, documented 6"
    ]


def _table_rows(path, heading: str) -> list[list[str]]:
    section = path.read_text().split(heading, 1)[1].split("\n## ", 1)[0]
    return [
        [c.strip() for c in line.split("|")[1:-1]]
        for line in section.splitlines()
        if line.startswith("| `")
    ]


def _same_default(documented: str, schema: dict, required: bool) -> bool:
    if documented == "required":
        return required
    if "default" not in schema and not required:
        return documented in ("none", "random") or documented.startswith("the ")
    default = schema.get("default")
    if re.fullmatch(r"-?\d+(\.\d+)?", documented):
        return isinstance(default, int | float) and float(documented) == float(default)
    return json.dumps(default) == documented or f"`{default}`" == documented


def test_generation_request_table_lists_every_field_with_its_default():
    spec = openapi("generation")
    operation = spec["paths"]["/v1/generate"]["post"]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    request = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    fields, required = request["properties"], set(request.get("required", []))
    documented = {}
    for cells in _table_rows(REPO_ROOT / "docs/GENERATION.md", "## Request parameters"):
        for name in re.findall(r"`(\w+)`", cells[0]):
            documented[name] = cells[1]
    assert set(documented) == set(fields), "docs/GENERATION.md request table vs GenerateRequest"
    wrong = {
        name: (value, fields[name].get("default"))
        for name, value in documented.items()
        if not _same_default(value, fields[name], name in required)
    }
    assert not wrong, f"docs/GENERATION.md defaults (documented, code): {wrong}"
