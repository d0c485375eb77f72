"""The bad-input corpus (tests/reliability/corpus.py) against every endpoint that takes an image, on
the real processes: each case is accepted (converted to RGB, EXIF rotation applied) or refused with
its 4xx in the envelope; never a 5xx. Also: bodies over the cap, wrong content types, memory.
"""

from __future__ import annotations

import base64
import io

import httpx
import numpy as np
import pytest
from PIL import Image

from tests.helpers import assert_envelope
from tests.reliability.conftest import MAX_UPLOAD_BYTES
from tests.reliability.corpus import ACCEPTED, asymmetric, corpus, exif_rotated_jpeg

pytestmark = pytest.mark.e2e

CASES = corpus(MAX_UPLOAD_BYTES)
CHEAP_GENERATION = {"prompt": "batik nitik", "width": 64, "height": 64, "steps": 4}

# (service, path, body with the image in it, status when accepted). Small outputs everywhere: the
# point is the input path, not the model.
JSON_ENDPOINTS = {
    "search": ("retrieval", "/v1/search", lambda x: {"image": x, "top_k": 3}, 200),
    "embed": ("retrieval", "/v1/embed", lambda x: {"images": [x]}, 200),
    "caption": ("captioning", "/v1/caption", lambda x: {"image": x, "max_new_tokens": 6}, 200),
    "caption batch": (
        "captioning",
        "/v1/caption",
        lambda x: {"images": [x], "max_new_tokens": 6},
        200,
    ),
    "vqa": (
        "captioning",
        "/v1/vqa",
        lambda x: {"image": x, "question": "which motif?", "max_new_tokens": 4},
        200,
    ),
    "generate init": (
        "generation",
        "/v1/generate",
        lambda x: {**CHEAP_GENERATION, "init_image": x, "strength": 0.5},
        200,
    ),
    "generate control": (
        "generation",
        "/v1/generate",
        lambda x: {**CHEAP_GENERATION, "control_image": x, "control_scale": 0.5},
        200,
    ),
    "job": (
        "generation",
        "/v1/jobs",
        lambda x: {**CHEAP_GENERATION, "init_image": x, "strength": 0.5},
        202,
    ),
    # init_source=query: the query image goes to retrieval, captioning and generation.
    "rag": (
        "gateway",
        "/v1/rag",
        lambda x: {"image": x, "init_source": "query", "steps": 4, "strength": 0.5, "seed": 1},
        200,
    ),
}
POSTS = [
    *sorted({(service, path) for service, path, _, _ in JSON_ENDPOINTS.values()}),
    ("gateway", "/v1/rag/upload"),
    ("retrieval", "/v1/index/reload"),
]


@pytest.fixture(scope="module")
def http(reliability_stack):
    with httpx.Client(timeout=120) as client:
        yield client


def check_answer(answer: httpx.Response, case, accepted_status: int) -> None:
    if case.status == ACCEPTED:
        assert answer.status_code == accepted_status, f"{case.name}: {answer.text[:300]}"
    else:
        assert_envelope(answer, case.status, case.error_type)


@pytest.mark.parametrize("endpoint", JSON_ENDPOINTS)
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_corpus_on_json_endpoints(http, reliability_stack, endpoint, case):
    service, path, body, accepted_status = JSON_ENDPOINTS[endpoint]
    answer = http.post(reliability_stack.url(service) + path, json=body(case.b64))
    check_answer(answer, case, accepted_status)


@pytest.mark.parametrize("case", [c for c in CASES if c.raw is not None], ids=lambda c: c.name)
def test_corpus_on_the_gateway_upload(http, reliability_stack, case):
    answer = http.post(
        reliability_stack.url("gateway") + "/v1/rag/upload",
        files={"image": ("upload.bin", case.raw, "application/octet-stream")},
        data={"init_source": "query", "steps": "4", "strength": "0.5", "seed": "1"},
    )
    check_answer(answer, case, 200)


def embed(http, stack, image_b64: str) -> np.ndarray:
    answer = http.post(stack.url("retrieval") + "/v1/embed", json={"images": [image_b64]})
    assert answer.status_code == 200, answer.text
    return np.asarray(answer.json()["images"][0])


def png_b64(image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def test_exif_rotation_is_applied_before_the_model_sees_the_image(http, reliability_stack):
    """CLIP is the oracle: the EXIF-rotated JPEG embeds as its upright pixels, not as stored."""
    raw, upright = exif_rotated_jpeg()
    stored = Image.open(io.BytesIO(raw)).convert("RGB")  # PIL does not rotate on open
    assert stored.size != upright.size  # the case really is sideways
    sent = embed(http, reliability_stack, base64.b64encode(raw).decode())
    as_upright = embed(http, reliability_stack, png_b64(upright))
    as_stored = embed(http, reliability_stack, png_b64(stored))
    assert float(sent @ as_upright) > 0.9999
    assert float(sent @ as_upright) > float(sent @ as_stored)


def test_conversions_match_what_the_image_shows(http, reliability_stack):
    """Lossless WebP embeds exactly as the same pixels sent as PNG; RGBA is composited on white."""
    base = asymmetric()
    webp = next(c for c in CASES if c.name == "webp")
    assert (
        float(
            embed(http, reliability_stack, webp.b64) @ embed(http, reliability_stack, png_b64(base))
        )
        > 0.9999
    )
    transparent = Image.new("RGBA", (48, 48), (10, 200, 10, 0))
    white = Image.new("RGB", (48, 48), (255, 255, 255))
    assert (
        float(
            embed(http, reliability_stack, png_b64(transparent))
            @ embed(http, reliability_stack, png_b64(white))
        )
        > 0.9999
    )


def test_a_declared_30000x30000_png_is_refused_before_it_is_decoded(http, reliability_stack):
    """Decoded, it would take 2.7 GB of RGB: every service refuses it and its memory stays put."""
    bomb = next(c for c in CASES if c.name == "30000x30000 declared png")
    before = {
        s: reliability_stack.metric(s, "process_resident_memory_bytes")
        for s in ("retrieval", "captioning", "generation", "gateway")
    }
    for endpoint in JSON_ENDPOINTS.values():
        service, path, body, _ = endpoint
        for _ in range(3):
            answer = http.post(reliability_stack.url(service) + path, json=body(bomb.b64))
            assert_envelope(answer, 413, "payload_too_large")
    for service, rss in before.items():
        grown = reliability_stack.metric(service, "process_resident_memory_bytes") - rss
        assert grown < 100 * 2**20, f"{service} grew {grown / 2**20:.0f} MiB"


@pytest.mark.parametrize(("service", "path"), POSTS)
@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_body_over_the_cap_is_413_before_it_is_read(
    http, reliability_stack, service, path, chunked
):
    # Over every cap: captioning's is the largest (a batch of CAPTIONING_MAX_BATCH=8 images).
    filler = b"x" * (12 * MAX_UPLOAD_BYTES)
    content_type, body = "application/json", b'{"text": "' + filler + b'"}'
    if path.endswith("/upload"):  # a form route reads only form bodies
        content_type = "multipart/form-data; boundary=cap"
        body = (
            b'--cap\r\nContent-Disposition: form-data; name="image"; filename="big.png"\r\n'
            b"Content-Type: image/png\r\n\r\n" + filler + b"\r\n--cap--\r\n"
        )
    # Without a length the cap is enforced while reading (a generator makes httpx send it chunked).
    content = iter([body[i : i + 65536] for i in range(0, len(body), 65536)]) if chunked else body
    answer = http.post(
        reliability_stack.url(service) + path,
        content=content,
        headers={"content-type": content_type},
    )
    assert_envelope(answer, 413, "payload_too_large")


WRONG_BODIES = {
    "text": ("text/plain", b'{"text": "kawung"}'),
    "form": ("application/x-www-form-urlencoded", b"text=kawung&top_k=3"),
    "binary-as-json": ("application/json", b"\x89PNG\r\n\x1a\n\x00\x00garbage"),
    "json-list": ("application/json", b'["a", "list"]'),
    "png": ("image/png", b"\x89PNG\r\n\x1a\n"),
}
# Every POST with every wrong body, except a url-encoded form to the upload route: forms are what it
# takes.
WRONG_CONTENT = [
    pytest.param(service, path, *body, id=f"{service}{path}-{name}")
    for service, path in POSTS
    for name, body in WRONG_BODIES.items()
    if not (path == "/v1/rag/upload" and name == "form")
]


@pytest.mark.parametrize(("service", "path", "content_type", "content"), WRONG_CONTENT)
def test_a_wrong_content_type_is_a_4xx_in_the_envelope(
    http, reliability_stack, service, path, content_type, content
):
    answer = http.post(
        reliability_stack.url(service) + path,
        content=content,
        headers={"content-type": content_type},
    )
    assert 400 <= answer.status_code < 500, answer.text
    assert_envelope(answer, answer.status_code, answer.json()["error"]["type"])
