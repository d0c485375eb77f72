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
    Form,
    Header,
    Path,
    Query,
    Request,
    Response,
    Security,
    UploadFile,
)
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from gateway import idempotency
from gateway.composition import Gateway
from gateway.fairness import GENERATING_CLIENT, generation_cost
from gateway.idempotency import IdempotencyStore
from gateway.orchestrator import with_seed
from gateway.rate_headers import remember_rate_limit
from gateway.security import API_KEY_SCHEME, BEARER_SCHEME, Caller
from services.common.contracts.gateway import (
    RESPONSE_FORMAT_DESCRIPTION,
    RagRequest,
    RagResponse,
    ResponseFormat,
)
from services.common.contracts.generation import StyleList
from services.common.disconnect import cancel_on_disconnect
from services.common.errors import ErrorType, NoJobStoreError, ServiceError, error_responses
from services.common.health import require_ready
from services.common.http_cache import cache_control, etag_matches
from services.common.images import decode_base64, load_image_off_loop, sha256_hex, to_base64
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
        "with the same key and body within 24 h answers what the first request did; the same key "
        "with another body is 422 `idempotency_mismatch`. Keys are per API key.",
    ),
]


def idempotency_store(request: Request, scope: str) -> IdempotencyStore:
    """Idempotency keys live in the job Redis; without one a key cannot be honoured: 503."""
    queue = getattr(request.app.state, "jobs", None)
    if queue is None:
        raise NoJobStoreError(
            f"{idempotency.HEADER} needs Redis and GATEWAY_REDIS_URL is not set; "
            "send the request without it"
        )
    return IdempotencyStore(queue.redis, scope=scope)


def server_timing(timings_ms: dict[str, float], cache_hit: bool) -> str:
    """`Server-Timing: cache;desc="hit";dur=0.4, retrieval;dur=12.1, ..., total;dur=812.0`."""
    parts = []
    for stage, ms in timings_ms.items():
        desc = f';desc="{"hit" if cache_hit else "miss"}"' if stage == "cache" else ""
        parts.append(f"{stage}{desc};dur={ms:g}")
    return ", ".join(parts)


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
    caller = caller_of(request)
    if body.generate:  # `guard` counted 1; a long or large generation counts its extra cost
        size = request.app.state.settings.generation_size
        cost = generation_cost(body.steps, size, size) - 1
        remember_rate_limit(request, await gateway.rate_limiter.check(caller.client, cost))
    # A few generating flows per key at a time (issue 16, finding 8), counted where a flow is
    # admitted upstream (gateway/fairness.py).
    GENERATING_CLIENT.set(caller.client if body.generate else None)
    answer = await cancel_on_disconnect(
        request, gateway.orchestrator.run(body, image_sha256, owner=caller)
    )
    request.app.state.gateway_metrics.observe(answer)
    response.headers["Server-Timing"] = server_timing(answer.timings_ms, answer.cache.hit)
    wake_drain_after(background, gateway)
    return answer


def wake_drain_after(background: BackgroundTasks, gateway: Gateway) -> None:
    """Once the answer is sent, the outbox's drain saves the designs it named (gateway/saving.py)."""
    if gateway.saver is not None:
        background.add_task(gateway.saver.wake)


async def _formatted(
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
        return await _formatted(answer, body, request, gateway)
    body, kept_at, answer = await _idempotent(request, gateway, body, idempotency_key)
    if answer is not None:
        response.headers["Idempotent-Replayed"] = "true"
    else:
        answer = await _answer(body, raw, request, response, gateway, background)
        # The answer as given (degraded too), for retries: in the answer cache, which may evict it.
        await gateway.cache.set(kept_at, answer.model_dump(mode="json"))
    return await _formatted(answer, body, request, gateway)


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


def _described(name: str) -> str | None:
    return RagRequest.model_fields[name].description


def _blend(text: str) -> list[dict[str, str]]:
    """`nitik:1,kawung:0.5` as the JSON body's `styles` (validated there; a bare name is scale 1)."""
    blend = []
    for part in text.split(","):
        name, _, scale = part.strip().partition(":")
        blend.append({"name": name.strip(), **({"scale": scale.strip()} if scale else {})})
    return blend


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
    image: UploadFile | None = File(None, description="A query image (PNG, JPEG or WebP)."),
    text: str | None = Form(None, description=_described("text")),
    top_k: int | None = Form(None, description="References to retrieve (default 5)."),
    strength: float | None = Form(None, description="img2img strength (default 0.55)."),
    guidance_scale: float | None = Form(None, description="Guidance scale (default 7.5)."),
    steps: int | None = Form(None, description="Denoising steps (default 30)."),
    seed: int | None = Form(None, description="Omit for a random seed."),
    negative_prompt: str | None = Form(None),
    generate: bool | None = Form(None, description=_described("generate")),
    init_source: str | None = Form(None, description=_described("init_source")),
    tile: bool | None = Form(None, description=_described("tile")),
    repeat: str | None = Form(None, description=_described("repeat")),
    symmetry: str | None = Form(None, description=_described("symmetry")),
    control_scale: float | None = Form(None, description=_described("control_scale")),
    preview_repeat: bool | None = Form(None, description=_described("preview_repeat")),
    dedupe: bool | None = Form(None, description=_described("dedupe")),
    lexical_weight: float | None = Form(None, description=_described("lexical_weight")),
    motifs: str | None = Form(None, description="Comma-separated motif numbers to search in."),
    save: bool | None = Form(None, description=_described("save")),
    style: str | None = Form(None, description=_described("style")),
    style_scale: float | None = Form(None, description=_described("style_scale")),
    styles: str | None = Form(
        None, description="A blend as `name:scale,name:scale` (instead of `style`)."
    ),
    preview: bool | None = Form(None, description=_described("preview")),
    response_format: ResponseFormat | None = Form(None, description=RESPONSE_FORMAT_DESCRIPTION),
) -> RagResponse:
    raw = await read_upload(image, request.app.state.settings.image_limits)
    fields = {
        "text": text,
        "top_k": top_k,
        "strength": strength,
        "guidance_scale": guidance_scale,
        "steps": steps,
        "seed": seed,
        "negative_prompt": negative_prompt,
        "generate": generate,
        "init_source": init_source,
        "tile": tile,
        "repeat": repeat,
        "symmetry": symmetry,
        "control_scale": control_scale,
        "preview_repeat": preview_repeat,
        "dedupe": dedupe,
        "lexical_weight": lexical_weight,
        "motifs": [part.strip() for part in motifs.split(",") if part.strip()] if motifs else None,
        "image": to_base64(raw) if raw else None,
        "save": save,
        "style": style,
        "style_scale": style_scale,
        "styles": _blend(styles) if styles else None,
        "preview": preview,
        "response_format": response_format,
    }
    try:
        # Form fields are text: FastAPI has typed them, and motifs are split here.
        body = RagRequest.model_validate(
            {k: v for k, v in fields.items() if v is not None}, strict=False
        )
    except ValidationError as exc:  # the same 422 envelope as a bad JSON body
        raise RequestValidationError(exc.errors()) from None
    answer = await _answer(body, raw, request, response, gateway, background)
    return await _formatted(answer, body, request, gateway)


@router.get(
    "/images/{item_id}",
    operation_id="getReferenceImage",
    summary="A reference photo of the index (the `id` of a reference), as JPEG",
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
    item_id: int = Path(ge=0),
    size: int = Query(224, description="Side in pixels: 224 or 512."),
    index_version: str | None = Query(
        None,
        description="The answer's `index_version`: ids belong to one index version, so once the "
        "index is reloaded to another one this is 404 (search again), never another row's image; "
        "with it the image may be cached for a day, without it every use revalidates its ETag.",
    ),
    if_none_match: str | None = Header(None),
) -> Response:
    if size not in (224, 512):
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
    responses=error_responses(*_GUARD_ERRORS, ErrorType.NOT_READY),
)
async def status(gateway: ReadyGateway) -> dict[str, Any]:
    return gateway.describe()
