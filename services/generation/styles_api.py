"""`GET /v1/styles` (the styles requests may name) and `POST /v1/styles/reload` (admin)."""

from __future__ import annotations

from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, Depends

from services.common.admin import admin_guard
from services.common.contracts.generation import SkippedStyle, StyleList, StyleReload
from services.common.errors import ErrorType, error_responses
from services.generation.api import ReadyEngine
from services.generation.generator import SdGenerator

router = APIRouter(prefix="/v1/styles", tags=["styles"])

require_admin = admin_guard("style reload", "GENERATION_ADMIN_TOKEN")
Admin = Annotated[None, Depends(require_admin)]


def style_list(engine: SdGenerator) -> StyleList:
    styles = engine.styles
    return StyleList(
        styles=styles.listing(),
        default=styles.default.info.name if styles.default else None,
        preview=styles.preview_version is not None,
    )


@router.get(
    "",
    operation_id="listStyles",
    response_model=StyleList,
    summary="Styles from GENERATION_STYLES_DIR: name, base model, rank, trigger words, version",
    description="Each style LoRA the service can apply by name, which one is fused at load, and whether previews are available.",
    responses=error_responses(ErrorType.NOT_READY),
)
def list_styles(engine: ReadyEngine) -> StyleList:
    return style_list(engine)


@router.post(
    "/reload",
    operation_id="reloadStyles",
    response_model=StyleReload,
    summary="Pick up styles added to or removed from GENERATION_STYLES_DIR (admin)",
    description="Loads new and changed style folders, drops removed ones, without a restart. It "
    "waits for the generation in progress (styles are state of the shared UNet). Folders that "
    "cannot be served (another base model, corrupt weights) are listed in `skipped` with the "
    "reason; the rest load. The default style (GENERATION_STYLE) is fused and stays until a restart.",
    responses=error_responses(ErrorType.UNAUTHORIZED, ErrorType.NOT_READY),
)
async def reload_styles(_admin: Admin, engine: ReadyEngine) -> StyleReload:
    changes = await anyio.to_thread.run_sync(engine.reload_styles)
    skipped = [
        SkippedStyle(folder=folder, reason=reason)
        for folder, reason in sorted(engine.styles.skipped.items())
    ]
    return StyleReload(**style_list(engine).model_dump(), **changes, skipped=skipped)
