"""Export wire contract: a design as a print-ready file (`POST /v1/designs/{id}/export`) and its
colourways (`POST /v1/designs/{id}/colorways`). `batik export` reads the same model from its flags."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from services.common.export.palettes import palette, palette_names
from services.common.repeats import Repeat

MIN_DPI, MAX_DPI = 72, 600
MAX_COLORS = 32
MAX_TILES_ACROSS = 64
MAX_COLORWAYS = 8
DEFAULT_WIDTH_CM = 20.0
ExportFormat = Literal["png", "tiff", "pdf", "svg"]
# Repeat's values as a Literal: the strict public body takes them as JSON strings.
RepeatName = Literal["none", "full", "half_drop", "half_brick", "mirror"]
# "design": the symmetry group the design was generated with (its provenance), none if it has none.
DotSymmetry = Literal["none", "c2", "c4", "d4", "design"]


class ExportRequest(BaseModel):
    format: ExportFormat = Field("png", description="png, tiff and pdf: raster; svg: nitik dots.")
    dpi: int = Field(300, ge=MIN_DPI, le=MAX_DPI, description="Dots per inch of the print.")
    width_cm: float | None = Field(
        None,
        gt=0,
        le=1000,
        description=f"Physical width of the page; default {DEFAULT_WIDTH_CM:g} cm unless width_px.",
    )
    width_px: int | None = Field(None, gt=0, description="Width in pixels instead of width_cm.")
    repeat: RepeatName = Field("full", description="How the tile is laid out on the page.")
    tiles_across: int | None = Field(
        None,
        ge=1,
        le=MAX_TILES_ACROSS,
        description="Tiles across the page width (as many rows down); default 2, or 1 for "
        "repeat none.",
    )
    palette: str | None = Field(
        None, description=f"Map onto a named palette: {', '.join(palette_names())}."
    )
    colors: int | None = Field(
        None, ge=2, le=MAX_COLORS, description="Quantise to this many colours."
    )
    dot_pitch_mm: float | None = Field(
        None,
        ge=0.3,
        le=50,
        description="svg: distance between dot centres; default 48 dots across a tile. Adjusted "
        "to a whole, even number of dots per tile so the dots repeat with the tile.",
    )
    symmetry: DotSymmetry = Field(
        "none", description="svg: symmetrise the dot grid with this group (square tiles)."
    )

    # A public body: unknown fields are a 422 naming them, and no type is coerced (as RagRequest).
    model_config = {
        "extra": "forbid",
        "strict": True,
        "json_schema_extra": {
            "examples": [
                {"format": "png", "dpi": 300, "width_cm": 20, "repeat": "half_drop"},
                {"format": "svg", "width_cm": 20, "palette": "sogan_yogya", "dot_pitch_mm": 2},
            ]
        },
    }

    @field_validator("palette")
    @classmethod
    def _known_palette(cls, name: str | None) -> str | None:
        if name is not None:
            palette(name)  # a ValueError naming the known palettes: the 422's message
        return name

    @model_validator(mode="after")
    def _one_width(self) -> ExportRequest:
        if self.width_cm is not None and self.width_px is not None:
            raise ValueError("give width_cm or width_px, not both")
        if self.repeat == Repeat.NONE and (self.tiles_across or 1) != 1:
            raise ValueError("repeat none is one tile: tiles_across must be 1")
        return self

    def page_width_px(self) -> int:
        """The page width in pixels at `dpi` (20 cm at 300 dpi: 2362)."""
        if self.width_px is not None:
            return self.width_px
        return max(1, round(self.page_width_cm() / 2.54 * self.dpi))

    def page_width_cm(self) -> float:
        if self.width_px is not None:
            return self.width_px / self.dpi * 2.54
        return self.width_cm if self.width_cm is not None else DEFAULT_WIDTH_CM

    def tiles(self) -> int:
        return self.tiles_across or (1 if self.repeat == Repeat.NONE else 2)


class ColorwayRequest(BaseModel):
    palettes: list[str] = Field(
        min_length=1,
        max_length=MAX_COLORWAYS,
        description=f"Named palettes, one variant each: {', '.join(palette_names())}.",
        # The names in the spec too (checked by `_known`, whose 422 lists them).
        json_schema_extra={
            "items": {"type": "string", "enum": list(palette_names())},
            "uniqueItems": True,
        },
    )
    colors: int | None = Field(
        None,
        ge=2,
        le=MAX_COLORS,
        description="Clusters mapped onto each palette; default the palette's own count.",
    )
    save: bool = Field(True, description="Keep each variant as a design whose parent is this one.")

    model_config = {
        "extra": "forbid",
        "strict": True,
        "json_schema_extra": {"examples": [{"palettes": ["sogan_yogya", "indigo_cream"]}]},
    }

    @field_validator("palettes")
    @classmethod
    def _known(cls, names: list[str]) -> list[str]:
        for name in names:
            palette(name)
        if len(set(names)) != len(names):
            raise ValueError("each palette once")
        return names


class Colorway(BaseModel):
    palette: str
    id: str | None = Field(None, description="The saved design (null with save: false).")
    url: str | None = None
    colors: list[str] = Field(description="The colours the variant uses, darkest first.")


class ColorwayResponse(BaseModel):
    parent_id: str = Field(description="The design the variants were made from.")
    colorways: list[Colorway]
    sheet: str = Field(description="The original and its variants side by side, PNG as base64.")
