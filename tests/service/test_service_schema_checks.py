"""Schemathesis on every operation of the four internal services' specs (retrieval, captioning,
generation, library), each served in process on a loopback port (tiny models, a real Redis for
generation's jobs, a fresh library directory), with the positive (ST202) and the negative (ST201)
checks and the conformance ones: tests/schema_checks.py says which, and the rules every service
shares (the gateway's own run is tests/service/test_gateway_schema_checks.py).

The schemas state every rule of a request they can (the cross-field ones under `allOf`); what
they cannot, a positive case is made to keep (`realise`), each for a stated reason: a real image
where they say "base64" (any string passes there; a design import's PNG carries another tool's
settings), integers as JSON integers, the motif numbers the index holds, the styles the service
serves (each once in a blend), a symmetry's square, img2img's int(steps * strength) >= 1, an upscale
target whose half offset is whole for our tile, captioning's deployed batch, created_before after
created_after, no page cursor the library did not give out, no parent design the caller lacks,
and the admin's bearer token (a secret, not the schema's). Cheaper values stay inside the schema:
smaller sizes, fewer steps and images (also where a field is left to its costly default), so a
case reaches its branch without minutes in the denoising loop. Few examples per operation
(BATIK_SCHEMA_EXAMPLES, default 6).
"""

from __future__ import annotations

import io
import json
import os
from collections import Counter
from contextlib import contextmanager
from datetime import UTC, datetime

import httpx
import pytest
from PIL import Image
from pydantic import TypeAdapter

from services.common.contracts.generation import PREVIEW_STEPS
from tests.helpers import REPO_ROOT, served
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
TILE = Image.open(io.BytesIO(PNG)).width  # the image every positive case sends (square)
ADMIN_TOKEN = "schema-check-admin-token"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
# Schema-valid requests may still be refused for what no schema knows (an id that is nobody's: 404;
# a full job queue: 429); never as malformed.
POSITIVE_OK = ["2XX", "304", "404", "429"]
SERVICES = ("retrieval", "captioning", "generation", "library")


def spec_fields(service: str) -> tuple[set[str], set[str]]:
    """The integer and the image fields of the service's checked-in spec."""
    spec = json.loads((REPO_ROOT / "openapi" / f"{service}.json").read_text())
    return integer_fields(spec), image_fields(spec)


def cheaper(body: dict) -> None:
    """Costly valid values made cheap valid ones with the same remainders (a size's multiple of 8,
    an odd or even count): still inside every bound, so still positive."""
    for name in ("width", "height"):
        if type(body.get(name)) is int and body[name] > 128:
            body[name] = 64 + body[name] % 64
    if type(body.get("steps")) is int and body["steps"] > PREVIEW_STEPS[1]:
        body["steps"] = PREVIEW_STEPS[1]  # in a preview's range too
    if type(body.get("num_images")) is int and body["num_images"] > 2:
        body["num_images"] = 1 + body["num_images"] % 2


def img2img_runnable(body: dict) -> None:
    """img2img runs int(steps * strength) denoising steps, at least 1: a rule JSON Schema cannot
    state (the `steps` description says it). Strength 1.0 keeps every step."""
    steps, strength = body.get("steps"), body.get("strength", 0.55)
    if body.get("init_image") is None or type(steps) is not int:
        return
    if isinstance(strength, int | float) and int(steps * strength) < 1:
        body["strength"] = 1.0


def half_offsets_whole(body: dict, tile: int) -> None:
    """A half-drop (half-brick) upscale of our even `tile` needs an even target height (width):
    the half offset lands on a whole pixel. The tile is data, not schema; upscaling.check_target
    says it in its 422."""
    side = {"half_drop": "height", "half_brick": "width"}.get(body.get("repeat"))
    if side is None:
        return
    if type(body.get(side)) is int and body[side] % 2:
        body[side] += 1 if body[side] == 1 else -1
    factor = body.get("factor")
    if isinstance(factor, int | float) and round(tile * factor) % 2:
        body["factor"] = max(2, round(tile * factor) - 1) / tile


def served_styles_only(body: dict, served: set[str]) -> None:
    """Only the styles the service serves (data, not schema: an unknown name is a 404), each name
    once in a blend (JSON Schema's uniqueItems compares whole items, not their names)."""
    if body.get("style") not in (None, *served):
        body.pop("style")
    if isinstance(body.get("styles"), list):
        names = {}
        for item in body["styles"]:
            if isinstance(item, dict) and item.get("name") in served:
                names.setdefault(item["name"], item)
        body["styles"] = list(names.values())


def dates_in_order(query: dict) -> None:
    """`created_before` later than `created_after` (its description says so; JSON Schema cannot
    compare two values): the pair swapped, or the second dropped when they are the same time."""
    after, before = query.get("created_after"), query.get("created_before")
    if not isinstance(after, str) or not isinstance(before, str):
        return
    times = [_as_utc(after), _as_utc(before)]
    if times[0] > times[1]:
        query["created_after"], query["created_before"] = before, after
    elif times[0] == times[1]:
        query.pop("created_before")


def _as_utc(text: str) -> datetime:
    moment = TypeAdapter(datetime).validate_python(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # the library's reading


def realiser(service: str, facts: dict):
    integers, images = spec_fields(service)

    def realise(case) -> None:
        body = realised_copy(case)
        if isinstance(case.query, dict):  # a cursor is an opaque token only the library makes
            case.query.pop("cursor", None)
            dates_in_order(case.query)
        if body is None:
            return
        integral_floats_as_ints(body, integers)
        # A design import reads another tool's settings from the PNG's text chunks.
        real_images(case, body, images, file=PNG_WITH_SETTINGS)
        if isinstance(body.get("motifs"), list) and facts.get("motifs"):
            # The index's motif numbers are data, not schema.
            body["motifs"] = facts["motifs"][: len(body["motifs"])]
        cheaper(body)
        if service == "library" and body.get("parent_id") is not None:
            # A remix names a design the caller holds: data, not schema (else a 422 says so).
            body.pop("parent_id")
        if service == "captioning" and isinstance(body.get("images"), list):
            # A deployment's batch (CAPTIONING_MAX_BATCH, 8 here) under the schema's ceiling (64).
            body["images"] = body["images"][: facts["max_batch"]]
        if case.path == "/v1/upscale":
            half_offsets_whole(body, TILE)
        if service == "generation" and "prompt" in body:  # generate, createJob
            # Cheap defaults too: 512 px and 30 steps take a minute on the tiny model and 2 cores.
            body.setdefault("width", 64)
            body.setdefault("height", 64)
            body.setdefault("steps", PREVIEW_STEPS[1])
            served_styles_only(body, facts["styles"])
            if body.get("symmetry") not in (None, "none") and "width" in body:
                # A symmetry grows on a square (the `symmetry` description): JSON Schema cannot
                # say that two fields are equal.
                body["height"] = body["width"]
            img2img_runnable(body)

    return realise


@contextmanager
def serve(service: str, tiny_models, synthetic_index, redis_server, style_folders, tmp_path):
    """The service's app on a loopback port, and the facts a positive case needs from it."""
    if service == "retrieval":
        from services.retrieval.app import create_app
        from services.retrieval.config import RetrievalSettings

        app = create_app(
            RetrievalSettings(
                model=str(tiny_models["clip"]),
                index_dir=str(synthetic_index),
                admin_token=ADMIN_TOKEN,
            )
        )
    elif service == "captioning":
        from services.captioning.app import create_app
        from services.captioning.config import CaptioningSettings

        settings = CaptioningSettings(model=str(tiny_models["blip2"]))
        app = create_app(settings)
    elif service == "generation":
        from services.generation.app import create_app
        from services.generation.config import GenerationSettings

        # Every optional part loaded (ControlNet, styles, the preview LoRA), so every field's
        # branch runs; the diffusion upscaler stays off (upscale resamples: cheap).
        app = create_app(
            GenerationSettings(
                model=str(tiny_models["sd"]),
                controlnet=str(tiny_models["controlnet"]),
                styles_dir=str(style_folders["styles"]),
                preview_lora=str(style_folders["preview"]),
                redis_url=redis_server.url,
                admin_token=ADMIN_TOKEN,
                job_poll_s=0.02,
            )
        )
    else:
        from services.library.app import create_app
        from services.library.config import LibrarySettings

        app = create_app(LibrarySettings(dir=tmp_path / "library"))
    with served(app) as url:
        facts = {}
        if service == "retrieval":
            found = httpx.post(
                f"{url}/v1/search", json={"text": "kawung", "top_k": 100}, timeout=60
            ).json()["hits"]
            facts["motifs"] = sorted({hit["motif"]["number"] for hit in found})
        if service == "captioning":
            facts["max_batch"] = settings.max_batch
        if service == "generation":
            styles = httpx.get(f"{url}/v1/styles", timeout=30).json()["styles"]
            facts["styles"] = {style["name"] for style in styles}
        yield url, facts


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_operation_passes_the_positive_and_negative_checks(
    service, tiny_models, synthetic_index, redis_server, style_folders, tmp_path
):
    served_at = serve(service, tiny_models, synthetic_index, redis_server, style_folders, tmp_path)
    with served_at as (url, facts):
        schema = load_schema(url, POSITIVE_OK)
        statuses = Counter()
        failures = check_every_operation(
            schema,
            url,
            examples=EXAMPLES,
            realise=realiser(service, facts),
            headers=ADMIN,
            statuses=statuses,
        )
    assert not failures, "\n\n".join(failures)
    print(f"{service}: statuses {dict(sorted(statuses.items()))}")
    assert any(200 <= s < 300 for s in statuses) and any(400 <= s < 500 for s in statuses)
