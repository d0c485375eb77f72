"""The gateway's routes: `/v1/rag` (JSON), `/v1/rag/upload` (multipart, for forms and `curl -F`) and
`/v1/images/{id}` (a reference photo, so clients such as the dashboard need no other service).

Every `/v1` route first checks the API key and the caller's rate limit (`guard`). Answers carry a
`Server-Timing` header with the stages, so browser dev tools show where the time went.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import (
    APIRouter,
    BackgroundTasks,
    Depends,
    File,
    Header,
    Path,
    Query,
    Request,
    Response,
    Security,
    UploadFile,
)

from gateway import idempotency
from gateway.composition import Gateway
from gateway.fairness import GENERATING_CLIENT, generation_cost
from gateway.idempotency import IdempotencyStore
from gateway.orchestrator import with_seed
from gateway.rate_headers import remember_rate_limit
from gateway.security import API_KEY_SCHEME, BEARER_SCHEME, Caller
from gateway.upload_form import RagUploadForm, to_rag_request
from services.common.contracts.gateway import RagRequest, RagResponse
from services.common.contracts.generation import StyleList
from services.common.contracts.retrieval import IMAGE_SIZES
from services.common.disconnect import cancel_on_disconnect
from services.common.errors import ErrorType, NoJobStoreError, ServiceError, error_responses
from services.common.health import require_ready
from services.common.http_cache import cache_control, etag_matches
from services.common.images import decode_base64, load_image_off_loop, sha256_hex
from services.common.jobs import job_store_available


async def guard(
    request: Request,
    _api_key: str | None = Security(API_KEY_SCHEME),
    _bearer: object = Security(BEARER_SCHEME),
) -> None:
    """API key (401 without, 403 wrong), then the per-client rate limit (429). The caller (its
    owner id) stays on `request.state.caller` for the routes that keep or read designs. The two
    schemes only declare where the key goes (OpenAPI `securitySchemes`); `identify` reads it."""
    caller = request.app.state.auth.identify(request)
    request.state.caller = caller
    gateway = getattr(request.app.state, "engine", None)
    if gateway is not None:  # while loading, require_ready answers 503 anyway
        remember_rate_limit(request, await gateway.rate_limiter.check(caller.client))


def caller_of(request: Request) -> Caller:
    """The authorised caller (set by `guard`, which every /v1 route runs first)."""
    return request.state.caller


router = APIRouter(prefix="/v1", tags=["rag"], dependencies=[Depends(guard)])
# The running gateway (clients, cache, orchestrator), or 503 not_ready while it loads.
ReadyGateway = Annotated[Gateway, Depends(require_ready)]
_GUARD_ERRORS = (ErrorType.UNAUTHORIZED, ErrorType.FORBIDDEN, ErrorType.OVERLOADED)
_RAG_ERRORS = error_responses(
    *_GUARD_ERRORS,
    ErrorType.PAYLOAD_TOO_LARGE,
    ErrorType.UNSUPPORTED_MEDIA,
    ErrorType.NOT_READY,
    ErrorType.BREAKER_OPEN,
    ErrorType.UPSTREAM,
    ErrorType.UPSTREAM_TIMEOUT,
)
# Retries of a POST answer what the first one did (gateway/idempotency.py).
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias=idempotency.HEADER,
        max_length=idempotency.MAX_LENGTH,
        pattern=idempotency.PATTERN,
        description="Any unique string (a UUID) of up to 255 printable ASCII characters: a retry "
        "with the same key and body within 24 h (a job's key: while its job is kept, "
        "GATEWAY_JOB_TTL_S, when that is shorter) answers what the first request did; the same key "
        "with another body is 422 `idempotency_mismatch`. Keys are per API key.",
    ),
]


def idempotency_store(
    request: Request, scope: str, ttl_s: int = idempotency.TTL_S
) -> IdempotencyStore:
    """Idempotency keys live in the job Redis; without one a key cannot be honoured: 503."""
    queue = getattr(request.app.state, "jobs", None)
    if queue is None:
        raise NoJobStoreError(
            f"{idempotency.HEADER} needs Redis and GATEWAY_REDIS_URL is not set; "
            "send the request without it"
        )
    return IdempotencyStore(queue.redis, scope=scope, ttl_s=ttl_s)


def server_timing(timings_ms: dict[str, float], cache_hit: bool) -> str:
    """`Server-Timing: cache;desc="hit";dur=0.4, retrieval;dur=12.1, ..., total;dur=812.0`."""
    parts = []
    for stage, ms in timings_ms.items():
        desc = f';desc="{"hit" if cache_hit else "miss"}"' if stage == "cache" else ""
        parts.append(f"{stage}{desc};dur={ms:g}")
    return ", ".join(parts)


async def count_generation(request: Request, gateway: Gateway, body: RagRequest) -> None:
    """A generating request's cost in its key's rate-limit window: `guard` counted 1, a long or
    large generation counts the rest (issue 16, finding 8; gateway/fairness.py)."""
    if body.generate:
        size = request.app.state.settings.generation_size
        cost = generation_cost(body.steps, size, size) - 1
        client = caller_of(request).client
        remember_rate_limit(request, await gateway.rate_limiter.check(client, cost))


async def run_flow(
    request: Request,
    gateway: Gateway,
    body: RagRequest,
    image_sha256: str | None,
    *,
    parent_id: str | None = None,
) -> RagResponse:
    """A synchronous RAG flow for a route (`/v1/rag`, its upload form, a remix): its cost counted,
    its key's bound on generating flows taken where the flow is admitted upstream, and cancelled
    when the client hangs up, so generation stops too instead of running for nobody (issue 16,
    finding 8)."""
    await count_generation(request, gateway, body)
    caller = caller_of(request)
    GENERATING_CLIENT.set(caller.client if body.generate else None)
    return await cancel_on_disconnect(
        request, gateway.orchestrator.run(body, image_sha256, owner=caller, parent_id=parent_id)
    )


async def _answer(
    body: RagRequest,
    raw_image: bytes | None,
    request: Request,
    response: Response,
    gateway: Gateway,
    background: BackgroundTasks,
) -> RagResponse:
    image_sha256 = None
    if raw_image is not None:
        # Validated here, not upstream: a bad upload is the client's 4xx before any model runs.
        await load_image_off_loop(raw_image, limits=request.app.state.settings.image_limits)
        image_sha256 = sha256_hex(raw_image)
    # A client that hangs up cancels the flow: the upstream calls close their connections, so
    # generation stops too instead of running a result nobody reads (issue 16, finding 8).
    answer = await run_flow(request, gateway, body, image_sha256)
    request.app.state.gateway_metrics.observe(answer)
    response.headers["Server-Timing"] = server_timing(answer.timings_ms, answer.cache.hit)
    wake_drain_after(background, gateway)
    return answer


def wake_drain_after(background: BackgroundTasks, gateway: Gateway) -> None:
    """Once the answer is sent, the outbox's drain saves the designs it named (gateway/saving.py)."""
    if gateway.saver is not None:
        background.add_task(gateway.saver.wake)


async def formatted(
    answer: RagResponse, body: RagRequest, request: Request, gateway: Gateway
) -> RagResponse:
    """The answer in the body's `response_format` (cached and made as base64: converted here)."""
    if body.response_format == "b64_json":
        return answer
    return await gateway.image_urls.as_urls(
        answer, base_url=str(request.base_url), owner=caller_of(request).owner
    )


async def _idempotent(
    request: Request, gateway: Gateway, body: RagRequest, key: str
) -> tuple[RagRequest, str, RagResponse | None]:
    """`body` with the seed its key's first request ran with, where its answer is kept, and that
    answer when a retry finds it there. A retry that does not (the first still running, or its
    answer evicted) runs with the same seed: it joins the first, or is answered from the cache, or
    makes the same images again."""
    store = idempotency_store(request, "rag")
    owner = caller_of(request).owner
    decided = {"seed": with_seed(body).seed}
    async with job_store_available():
        first, decided = await store.claim(owner, key, idempotency.fingerprint(body), decided)
    body = body.model_copy(update={"seed": decided["seed"]})
    kept_at = store.answer_key(owner, key)
    kept = None if first else await gateway.cache.get(kept_at)
    return body, kept_at, RagResponse.model_validate(kept) if kept else None


@router.post(
    "/rag",
    operation_id="rag",
    response_model=RagResponse,
    summary="Retrieve, caption, fuse and generate: the whole Batik Nitik RAG flow",
    description="Finds the motifs nearest to `text` and/or `image` (CLIP + BM25), captions the top "
    "reference (BLIP-2), fuses query, caption and motif facts into one prompt of at most 77 "
    "tokens, and generates from the reference (img2img), the query image or nothing (txt2img). "
    "Answers the references, captions, the prompt with its parts, the images (base64 PNG), the seed, "
    "timings and the designs saved. A failed caption degrades the answer (`degraded`), not the "
    "call. The same request and seed answer from the cache.",
    responses=_RAG_ERRORS,
)
async def rag(
    body: RagRequest,
    request: Request,
    response: Response,
    gateway: ReadyGateway,
    background: BackgroundTasks,
    idempotency_key: IdempotencyKey = None,
) -> RagResponse:
    limits = request.app.state.settings.image_limits
    raw = decode_base64(body.image, limits=limits) if body.image is not None else None
    if idempotency_key is None:
        answer = await _answer(body, raw, request, response, gateway, background)
        return await formatted(answer, body, request, gateway)
    body, kept_at, answer = await _idempotent(request, gateway, body, idempotency_key)
    if answer is not None:
        response.headers["Idempotent-Replayed"] = "true"
    else:
        answer = await _answer(body, raw, request, response, gateway, background)
        # The answer as given (degraded too), for retries: in the answer cache, which may evict it.
        await gateway.cache.set(kept_at, answer.model_dump(mode="json"))
    return await formatted(answer, body, request, gateway)


async def read_upload(image: UploadFile | None, limits) -> bytes | None:
    """An uploaded file's bytes (None when no file was sent), refused past the byte limit."""
    if image is None or not (image.filename or image.size):
        return None
    raw = await image.read(limits.max_bytes + 1)  # one byte over is enough to refuse it
    if len(raw) > limits.max_bytes:
        raise ServiceError(
            ErrorType.PAYLOAD_TOO_LARGE, f"image is larger than the {limits.max_bytes} byte limit"
        )
    return raw


@router.post(
    "/rag/upload",
    operation_id="ragUpload",
    response_model=RagResponse,
    summary="The RAG flow from a multipart form: an image file and/or text, plus the same fields",
    description="The same flow and answer as `POST /v1/rag`, for browser forms and "
    "`curl -F image=@motif.jpg -F text='sekar bunga' -F seed=7`. Empty fields take their defaults.",
    responses=_RAG_ERRORS,
)
async def rag_upload(
    request: Request,
    response: Response,
    gateway: ReadyGateway,
    background: BackgroundTasks,
    form: Annotated[RagUploadForm, File(media_type="multipart/form-data")],  # type: ignore[valid-type]
) -> RagResponse:
    raw = await read_upload(form.image, request.app.state.settings.image_limits)
    body = to_rag_request(form, raw)
    answer = await _answer(body, raw, request, response, gateway, background)
    return await formatted(answer, body, request, gateway)


@router.get(
    "/images/{item_id}",
    operation_id="getReferenceImage",
    summary="A reference photo of the index (the `id` of a reference), as JPEG",
    description="The photo behind a reference's `id`, at 224 or 512 px. With the answer's "
    "`index_version` it is bound to that index (404 once another is loaded) and cacheable for a "
    "day; its ETag names version, size and id, and `If-None-Match` answers 304.",
    response_class=Response,
    responses={
        200: {"content": {"image/jpeg": {}}},
        304: {"description": "Not modified: the `If-None-Match` ETag is current"},
        **error_responses(
            *_GUARD_ERRORS,
            ErrorType.NOT_FOUND,
            ErrorType.NOT_READY,
            ErrorType.BREAKER_OPEN,
            ErrorType.UPSTREAM,
            ErrorType.UPSTREAM_TIMEOUT,
        ),
    },
)
async def reference_image(
    gateway: ReadyGateway,
    item_id: int = Path(ge=0, description="A reference's `id` (a row of the index)."),
    size: int = Query(
        224,
        description="Side in pixels: 224 or 512.",
        json_schema_extra={"enum": list(IMAGE_SIZES)},
    ),
    index_version: str | None = Query(
        None,
        description="The answer's `index_version`: ids belong to one index version, so once the "
        "index is reloaded to another one this is 404 (search again), never another row's image; "
        "with it the image may be cached for a day, without it every use revalidates its ETag.",
    ),
    if_none_match: str | None = Header(
        None, description="An ETag of this image seen before: 304 without a body when current."
    ),
) -> Response:
    if size not in IMAGE_SIZES:
        raise ServiceError(ErrorType.VALIDATION, "size must be 224 or 512")
    raw, etag = await gateway.retrieval.image_and_etag(item_id, size, index_version)
    headers = {"Cache-Control": cache_control(index_version)}
    if etag:  # names the index version, size and id
        headers["ETag"] = etag
        if etag_matches(if_none_match, etag):
            return Response(status_code=304, headers=headers)
    return Response(raw, media_type="image/jpeg", headers=headers)


@router.get(
    "/styles",
    operation_id="listStyles",
    response_model=StyleList,
    summary="The styles the generation service serves (for `style` / `styles` in /v1/rag)",
    description="Each style LoRA by name, with the base model it was trained on, its trigger words "
    "and version; which one is fused by default, and whether `preview: true` is available.",
    responses=error_responses(
        *_GUARD_ERRORS,
        ErrorType.NOT_READY,
        ErrorType.BREAKER_OPEN,
        ErrorType.UPSTREAM,
        ErrorType.UPSTREAM_TIMEOUT,
    ),
)
async def list_styles(gateway: ReadyGateway) -> StyleList:
    return await gateway.generation.styles()


@router.get(
    "/status",
    operation_id="getStatus",
    summary="Where the upstreams are and how their breakers and the cache stand",
    description="The details the public `/readyz` leaves out (it answers only the state): upstream "
    "URLs, breaker states, the cache. Behind the API key, as every `/v1` route.",
    responses={
        200: {
            "content": {
                "application/json": {
                    "example": {
                        "upstreams": {"retrieval": {"url": "http://retrieval:8001"}},
                        "cache": {"backend": "redis"},
                    }
                }
            }
        },
        **error_responses(*_GUARD_ERRORS, ErrorType.NOT_READY),
    },
)
async def status(gateway: ReadyGateway) -> dict[str, Any]:
    return gateway.describe()
