"""The `/v1/rag/upload` form, built from `RagRequest` itself: one definition of every field (and
`/v1/export`'s, from `ExportRequest`: `export_form`).

Each form field is the JSON request's field (its type, enum, bounds, default and description), so the
OpenAPI form and the JSON body cannot drift apart. Only what a form cannot carry differs: `image` is a
file (`format: binary`) instead of base64, `motifs` a comma-separated list, `styles` a
`name:scale,...` blend, and a boolean must be spelled `true` or `false` (pydantic's lax parsing would
read `0`, `no` or `off` as false; the JSON body refuses those, so the form does too). The form's
values then go through `RagRequest` with the JSON body's own checks (`to_rag_request`). A field that
may be null in JSON is a value or absent in the form (a form cannot send a null).
"""

from __future__ import annotations

from copy import copy
from types import UnionType
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin

from fastapi import UploadFile
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, create_model
from pydantic.fields import FieldInfo

from services.common.contracts.export import DotSymmetry, ExportRequest
from services.common.contracts.gateway import RAG_RULES, RagRequest
from services.common.images import to_base64

ModelT = TypeVar("ModelT", bound=BaseModel)
MOTIFS_PATTERN = r"^\s*[0-9]+\s*(,\s*[0-9]+\s*)*$"
BLEND_PATTERN = r"^\s*[a-z0-9][a-z0-9_-]{0,63}(\s*:\s*[0-9.]+)?\s*(,\s*[a-z0-9][a-z0-9_-]{0,63}(\s*:\s*[0-9.]+)?\s*)*$"
# What a form carries differently from the JSON body.
_FORM_ONLY = {"image", "motifs", "styles"}


def _form_bool(value: Any) -> Any:
    """`true` / `false` (any case), as JSON spells them; anything else is left to be refused."""
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if isinstance(value, bool):
        return value
    raise ValueError("must be true or false")


def _form_field(annotation: Any, info: Any) -> tuple[Any, Any]:
    # A form field is a value or absent, never a null: `X | None` is `X`, with its default None.
    if get_origin(annotation) in (Union, UnionType) and type(None) in get_args(annotation):
        (annotation,) = [arg for arg in get_args(annotation) if arg is not type(None)]
        # The type's own schema additions (QueryText's pattern) would be lost in the merge.
        extra = [m.json_schema_extra for m in getattr(annotation, "__metadata__", ())
                 if isinstance(m, FieldInfo) and m.json_schema_extra]  # fmt: skip
        if extra and info.json_schema_extra is None:
            info = copy(info)
            info.json_schema_extra = extra[0]
    if annotation is bool:
        return Annotated[bool, BeforeValidator(_form_bool)], info
    return annotation, info


def form_fields(model: type[BaseModel], skip: set[str]) -> dict[str, Any]:
    """`model`'s fields as form fields (all but `skip`), for `create_model`."""
    return {
        name: _form_field(info.annotation, info)
        for name, info in model.model_fields.items()
        if name not in skip
    }


def _build_form() -> type[BaseModel]:
    fields = form_fields(RagRequest, _FORM_ONLY)
    fields["image"] = (
        # Not Optional: a form field is either a file or absent (never a null).
        UploadFile,
        Field(None, description="A query image file (PNG, JPEG or WebP)."),
    )
    fields["motifs"] = (
        str,
        Field(
            None,
            description="Comma-separated motif numbers to search in, e.g. `1,3,12`.",
            examples=["1,3,12"],
            # Said, not checked here: each number is checked as the JSON body's `motifs`.
            json_schema_extra={"pattern": MOTIFS_PATTERN},
        ),
    )
    fields["styles"] = (
        str,
        Field(
            None,
            json_schema_extra={"pattern": BLEND_PATTERN},
            description="A blend as `name:scale,name:scale` (instead of `style`); a bare name is "
            "scale 1.",
            examples=["nitik:1,kawung:0.5"],
        ),
    )
    config = ConfigDict(
        json_schema_extra={
            **RAG_RULES,
            "examples": [{"text": "sekar bunga", "seed": 7, "top_k": 3}],
        },
    )
    form = create_model("RagUploadForm", __config__=config, **fields)
    form.__doc__ = "The `POST /v1/rag` request as a multipart form, with the image as a file."
    return form


RagUploadForm = _build_form()


def _blend(text: str) -> list[dict[str, str]]:
    """`nitik:1,kawung:0.5` as the JSON body's `styles` (validated there; a bare name is scale 1)."""
    blend = []
    for part in text.split(","):
        name, _, scale = part.strip().partition(":")
        blend.append({"name": name.strip(), **({"scale": scale.strip()} if scale else {})})
    return blend


def to_rag_request(form: BaseModel, raw_image: bytes | None) -> RagRequest:
    """The JSON request the form stands for, through RagRequest's own checks (a 422 otherwise).
    Only the fields sent count as set: a preview's defaults depend on it."""
    fields = form.model_dump(include=form.model_fields_set - _FORM_ONLY)
    motifs = getattr(form, "motifs", None)
    if motifs:
        fields["motifs"] = [part.strip() for part in motifs.split(",") if part.strip()]
    styles = getattr(form, "styles", None)
    if styles:
        fields["styles"] = _blend(styles)
    if raw_image:
        fields["image"] = to_base64(raw_image)
    return _validated(RagRequest, fields)


def _validated(model: type[ModelT], fields: dict[str, Any]) -> ModelT:
    """`fields` through the JSON body's model and its checks, refused in the same 422 envelope.
    Not strict: the form's values are typed already, and the lists built from text are text."""
    try:
        return model.model_validate(fields, strict=False)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**error, "loc": ("body", *error["loc"])} for error in exc.errors()]
        ) from None


def _build_export_form() -> type[BaseModel]:
    fields = form_fields(ExportRequest, {"symmetry"})
    fields["image"] = (UploadFile, Field(description="The tile (PNG, JPEG or WebP)."))
    # An upload has no design whose symmetry `design` would name.
    fields["symmetry"] = (
        Literal[tuple(group for group in get_args(DotSymmetry) if group != "design")],
        Field("none", description=ExportRequest.model_fields["symmetry"].description),
    )
    config = ConfigDict(
        json_schema_extra={"examples": [{"format": "png", "width_cm": 20, "repeat": "half_drop"}]}
    )
    form = create_model("ExportUploadForm", __config__=config, **fields)
    form.__doc__ = "The `POST /v1/designs/{id}/export` options as a form, with the tile as a file."
    return form


ExportUploadForm = _build_export_form()


def to_export_request(form: BaseModel) -> ExportRequest:
    """The export options the form stands for, through ExportRequest's own checks (a 422)."""
    return _validated(ExportRequest, form.model_dump(include=form.model_fields_set - {"image"}))
