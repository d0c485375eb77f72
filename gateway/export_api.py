"""A design off the screen: `POST /v1/designs/{id}/export` (a print-ready file), `POST /v1/export`
(the same for an uploaded tile) and `POST /v1/designs/{id}/colorways` (the design in named batik
palettes, each saved as a child design).

The design routes read the design through the library as its owner (another owner's design is
unknown: 404). All run the export engine (services/common/export, no HTTP in it) in a worker thread, holding the page's
pixels of the process's decode budget while it works, so a burst of 300 dpi exports waits (then 429)
instead of taking the memory of many pages at once.
"""

from __future__ import annotations

import re
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, BackgroundTasks, Depends, File, Request, Response
from PIL import Image

from gateway.api import (
    _GUARD_ERRORS,
    ReadyGateway,
    caller_of,
    guard,
    read_upload,
    wake_drain_after,
)
from gateway.composition import Gateway
from gateway.library_api import DesignId, _checked, _library, _settled
from gateway.upload_form import ExportUploadForm, to_export_request
from services.common.concurrency import run_in_budget
from services.common.contracts.export import (
    Colorway,
    ColorwayRequest,
    ColorwayResponse,
    ExportRequest,
)
from services.common.contracts.generation import UpscaleRequest
from services.common.contracts.library import DESIGN_ID, Design, DesignCreate
from services.common.errors import ErrorType, ServiceError, error_responses
from services.common.export.colorways import colorway, side_by_side
from services.common.export.engine import ExportResult, render_export
from services.common.export.page import PagePlan, plan_page
from services.common.export.palettes import palette
from services.common.images import ImageLimits, decode_base64, load_image_off_loop, png_base64

router = APIRouter(prefix="/v1", tags=["export"], dependencies=[Depends(guard)])

_ERRORS = error_responses(
    *_GUARD_ERRORS,
    ErrorType.NOT_FOUND,
    ErrorType.NOT_READY,
    ErrorType.STORE_UNAVAILABLE,
    ErrorType.BREAKER_OPEN,
    ErrorType.UPSTREAM,
    ErrorType.UPSTREAM_TIMEOUT,
)
# What an export's answer says about its file, for browsers on other origins (CORS) too.
EXPORT_HEADERS = (
    "Content-Disposition",
    "X-Page-Pixels",
    "X-Page-Size-Cm",
    "X-Page-Size-Mm",
    "X-Tile-Pixels",
    "X-Dpi",
    "X-Colors",
    "X-Dot-Count",
    "X-Dot-Pitch-Mm",
    "X-Dot-Grid",
    "X-Render-Difference",
    "X-Upscaler",
)
_FILES = {
    "image/png": {},
    "image/tiff": {},
    "application/pdf": {},
    "image/svg+xml": {},
}


async def _design_and_tile(
    request: Request, gateway: Gateway, design_id: str
) -> tuple[Design, Image.Image]:
    """The caller's design (404 if not theirs) and its image, decoded within the upload limits."""
    _checked(DESIGN_ID, design_id, "design")
    library = _library(gateway)
    await _settled(request, gateway, design_id)  # a design still in the outbox is saved first
    caller = caller_of(request)
    design = await library.design(design_id, caller)
    answer = await library.call("GET", f"/v1/designs/{design_id}/image", caller)
    limits: ImageLimits = request.app.state.settings.image_limits
    return design, await load_image_off_loop(answer.content, limits=limits, field="design image")


def _filename(name: str, body: ExportRequest, result: ExportResult) -> str:
    width = f"{body.width_px}px" if body.width_px else f"{body.page_width_cm():g}cm"
    return f"{name}-{body.repeat}-{width}-{body.dpi}dpi.{result.extension}"


@router.post(
    "/designs/{design_id}/export",
    operation_id="exportDesign",
    response_class=Response,
    summary="A design as a print-ready file: its repeat at a physical width and dpi",
    description="PNG (pHYs), TIFF (resolution tags) and PDF (the page at its physical size) lay "
    "the repeat out at `width_cm` (or `width_px`) and `dpi`, the tile upscaled with its repeat "
    "neighbours so the seam stays closed; `palette` or `colors` give a colourway. SVG is the "
    "nitik dot grid: one circle per dot in millimetres, grouped by colour; `X-Dot-Count` and "
    "`X-Render-Difference` (resvg's drawing against the raster, per cell, 0-255) come as headers. "
    "A page over the pixel cap answers 422 naming the largest width allowed at that dpi.",
    responses={200: {"content": _FILES}, **_ERRORS},
)
async def export_design(
    body: ExportRequest, request: Request, gateway: ReadyGateway, design_id: str = DesignId
) -> Response:
    design, tile = await _design_and_tile(request, gateway, design_id)
    symmetry = body.symmetry
    if symmetry == "design":
        symmetry = str(design.provenance.get("symmetry") or "none")
    return await _exported(tile, body, symmetry, design.id, request, gateway)


@router.post(
    "/export",
    operation_id="exportUpload",
    response_class=Response,
    summary="An uploaded tile as a print-ready file (the export of a design, for any image)",
    description="The same export as `POST /v1/designs/{id}/export`, of a tile sent as a file "
    "with the options as form fields: `curl -F image=@tile.png -F width_cm=20 -F "
    "repeat=half_drop`. Nothing is saved. A file that is not an image answers 415 "
    "`unsupported_media`, as on every upload.",
    responses={
        200: {"content": _FILES},
        **_ERRORS,
        **error_responses(ErrorType.PAYLOAD_TOO_LARGE, ErrorType.UNSUPPORTED_MEDIA),
    },
)
async def export_upload(
    request: Request,
    gateway: ReadyGateway,
    form: Annotated[ExportUploadForm, File(media_type="multipart/form-data")],  # type: ignore[valid-type]
) -> Response:
    limits: ImageLimits = request.app.state.settings.image_limits
    raw = await read_upload(form.image, limits)
    if raw is None:
        raise ServiceError(ErrorType.VALIDATION, "image: send the tile as a file")
    body = to_export_request(form)
    tile = await load_image_off_loop(raw, limits=limits, field="image")
    stem = Path(form.image.filename or "tile").stem
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", stem)[:64] or "tile"
    return await _exported(tile, body, body.symmetry, name, request, gateway)


async def _exported(
    tile: Image.Image,
    body: ExportRequest,
    symmetry: str,
    name: str,
    request: Request,
    gateway: Gateway,
) -> Response:
    """`tile` laid out and encoded as `body` asks, within the decode budget; `name` starts the
    file's name."""
    settings = request.app.state.settings
    limits: ImageLimits = settings.image_limits
    plan = plan_page(body, tile.size, limits.max_pixels)
    pixels = (
        plan.tile_width * plan.tile_height if body.format == "svg" else plan.width * plan.height
    )
    upscaled, upscaler = None, "lanczos"
    if body.format != "svg" and settings.export_upscaler == "generation":
        upscaled, upscaler = await _generation_upscale(gateway, tile, body, plan, limits)
    work = partial(render_export, tile, body, plan, upscaled=upscaled, symmetry=symmetry)
    result = await anyio.to_thread.run_sync(partial(run_in_budget, limits.budget, pixels, work))
    headers = {
        **result.headers,
        **({"X-Upscaler": upscaler} if body.format != "svg" else {}),
        "Content-Disposition": f'attachment; filename="{_filename(name, body, result)}"',
    }
    return Response(result.content, media_type=result.media_type, headers=headers)


async def _generation_upscale(
    gateway: Gateway, tile: Image.Image, body: ExportRequest, plan: PagePlan, limits: ImageLimits
) -> tuple[Image.Image, str]:
    """The tile at its page size from the generation service (GATEWAY_EXPORT_UPSCALER=generation):
    its diffusion upscaler when it has one, else its Lanczos; the answer says which."""
    answer = await gateway.generation.upscale(
        UpscaleRequest(
            image=png_base64(tile),
            repeat=body.repeat,
            width=plan.tile_width,
            height=plan.tile_height,
        )
    )
    big_limits = replace(limits, max_bytes=64 * 1024 * 1024, max_side=None, budget=None)
    upscaled = await load_image_off_loop(
        decode_base64(answer.image, limits=big_limits), limits=big_limits, field="upscaled tile"
    )
    return upscaled, answer.method + (f" ({answer.model})" if answer.model else "")


def _encoded_variants(
    tile: Image.Image, body: ColorwayRequest
) -> tuple[list[tuple[str, list[str], Image.Image]], str, list[str]]:
    """Each palette's variant, the side-by-side sheet and the variants' PNGs (base64): all the CPU
    work of a colourway request, for a worker thread."""
    variants = []
    for name in body.palettes:
        way = colorway(tile, palette=palette(name), colors=body.colors)
        variants.append((name, way.hex_colors(), way.apply(tile)))
    sheet = png_base64(side_by_side([tile] + [image for _, _, image in variants]))
    return variants, sheet, [png_base64(image) for _, _, image in variants]


@router.post(
    "/designs/{design_id}/colorways",
    operation_id="designColorways",
    response_model=ColorwayResponse,
    summary="A design in named batik palettes, side by side; each saved as a child design",
    description="Each palette's variant keeps the design's structure (its colour clusters, mapped "
    "onto the palette darkest to darkest) and is saved as a design whose `parent_id` is this one, "
    "with the palette and its source in its provenance (`save: false` keeps nothing).",
    responses=_ERRORS,
)
async def design_colorways(
    body: ColorwayRequest,
    request: Request,
    gateway: ReadyGateway,
    background: BackgroundTasks,
    design_id: str = DesignId,
) -> ColorwayResponse:
    design, tile = await _design_and_tile(request, gateway, design_id)
    limits: ImageLimits = request.app.state.settings.image_limits
    pixels = tile.width * tile.height * (2 * len(body.palettes) + 1)  # variants and the sheet
    variants, sheet, images = await anyio.to_thread.run_sync(
        partial(run_in_budget, limits.budget, pixels, partial(_encoded_variants, tile, body))
    )
    ways = [Colorway(palette=name, colors=colors) for name, colors, _ in variants]
    if body.save:
        assert gateway.saver is not None  # made with the library, which _design_and_tile needed
        designs = []
        for (name, colors, _), image in zip(variants, images, strict=True):
            named = palette(name)
            provenance = {
                **design.provenance,
                "colorway": {"palette": name, "colors": colors, "source": named.source},
            }
            designs.append(
                DesignCreate(
                    image_b64=image,
                    provenance=provenance,
                    parent_id=design.id,
                    title=f"{design.title or design.id} in {named.title}"[:200],
                    tags=["colorway", name],
                )
            )
        # Named and queued like every design the gateway makes (gateway/saving.py).
        saved = await gateway.saver.save_designs(designs, caller_of(request))
        ways = [
            way.model_copy(update=ref.model_dump()) for way, ref in zip(ways, saved, strict=True)
        ]
        wake_drain_after(background, gateway)
    return ColorwayResponse(parent_id=design.id, colorways=ways, sheet=sheet)
