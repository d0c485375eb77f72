from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.export_request_format import ExportRequestFormat
from ..models.export_request_symmetry import ExportRequestSymmetry
from ..models.repeat import Repeat
from ..types import UNSET, Unset

T = TypeVar("T", bound="ExportRequest")


@_attrs_define
class ExportRequest:
    """
    Attributes:
        colors (int | None | Unset): Quantise to this many colours.
        dot_pitch_mm (float | None | Unset): svg: distance between dot centres; default 48 dots across a tile. Adjusted
            to a whole, even number of dots per tile so the dots repeat with the tile.
        dpi (int | Unset): Dots per inch of the print. Default: 300.
        format_ (ExportRequestFormat | Unset): png, tiff and pdf: raster; svg: nitik dots. Default:
            ExportRequestFormat.PNG.
        palette (None | str | Unset): Map onto a named palette: sogan_yogya, sogan_solo, indigo_cream, bang_biru_lasem.
        repeat (Repeat | Unset): How a tile is laid out on cloth: a seamless repeat, mirror (alternate tiles mirrored)
            or none (one tile).
        symmetry (ExportRequestSymmetry | Unset): svg: symmetrise the dot grid with this group (square tiles). Default:
            ExportRequestSymmetry.NONE.
        tiles_across (int | None | Unset): Tiles across the page width (as many rows down); default 2, or 1 for repeat
            none.
        width_cm (float | None | Unset): Physical width of the page; default 20 cm unless width_px.
        width_px (int | None | Unset): Width in pixels instead of width_cm.
    """

    colors: int | None | Unset = UNSET
    dot_pitch_mm: float | None | Unset = UNSET
    dpi: int | Unset = 300
    format_: ExportRequestFormat | Unset = ExportRequestFormat.PNG
    palette: None | str | Unset = UNSET
    repeat: Repeat | Unset = UNSET
    symmetry: ExportRequestSymmetry | Unset = ExportRequestSymmetry.NONE
    tiles_across: int | None | Unset = UNSET
    width_cm: float | None | Unset = UNSET
    width_px: int | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        colors: int | None | Unset
        if isinstance(self.colors, Unset):
            colors = UNSET
        else:
            colors = self.colors

        dot_pitch_mm: float | None | Unset
        if isinstance(self.dot_pitch_mm, Unset):
            dot_pitch_mm = UNSET
        else:
            dot_pitch_mm = self.dot_pitch_mm

        dpi = self.dpi

        format_: str | Unset = UNSET
        if not isinstance(self.format_, Unset):
            format_ = self.format_.value

        palette: None | str | Unset
        if isinstance(self.palette, Unset):
            palette = UNSET
        else:
            palette = self.palette

        repeat: str | Unset = UNSET
        if not isinstance(self.repeat, Unset):
            repeat = self.repeat.value

        symmetry: str | Unset = UNSET
        if not isinstance(self.symmetry, Unset):
            symmetry = self.symmetry.value

        tiles_across: int | None | Unset
        if isinstance(self.tiles_across, Unset):
            tiles_across = UNSET
        else:
            tiles_across = self.tiles_across

        width_cm: float | None | Unset
        if isinstance(self.width_cm, Unset):
            width_cm = UNSET
        else:
            width_cm = self.width_cm

        width_px: int | None | Unset
        if isinstance(self.width_px, Unset):
            width_px = UNSET
        else:
            width_px = self.width_px

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if colors is not UNSET:
            field_dict["colors"] = colors
        if dot_pitch_mm is not UNSET:
            field_dict["dot_pitch_mm"] = dot_pitch_mm
        if dpi is not UNSET:
            field_dict["dpi"] = dpi
        if format_ is not UNSET:
            field_dict["format"] = format_
        if palette is not UNSET:
            field_dict["palette"] = palette
        if repeat is not UNSET:
            field_dict["repeat"] = repeat
        if symmetry is not UNSET:
            field_dict["symmetry"] = symmetry
        if tiles_across is not UNSET:
            field_dict["tiles_across"] = tiles_across
        if width_cm is not UNSET:
            field_dict["width_cm"] = width_cm
        if width_px is not UNSET:
            field_dict["width_px"] = width_px

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)

        def _parse_colors(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        colors = _parse_colors(d.pop("colors", UNSET))

        def _parse_dot_pitch_mm(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        dot_pitch_mm = _parse_dot_pitch_mm(d.pop("dot_pitch_mm", UNSET))

        dpi = d.pop("dpi", UNSET)

        _format_ = d.pop("format", UNSET)
        format_: ExportRequestFormat | Unset
        if isinstance(_format_, Unset):
            format_ = UNSET
        else:
            format_ = ExportRequestFormat(_format_)

        def _parse_palette(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        palette = _parse_palette(d.pop("palette", UNSET))

        _repeat = d.pop("repeat", UNSET)
        repeat: Repeat | Unset
        if isinstance(_repeat, Unset):
            repeat = UNSET
        else:
            repeat = Repeat(_repeat)

        _symmetry = d.pop("symmetry", UNSET)
        symmetry: ExportRequestSymmetry | Unset
        if isinstance(_symmetry, Unset):
            symmetry = UNSET
        else:
            symmetry = ExportRequestSymmetry(_symmetry)

        def _parse_tiles_across(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        tiles_across = _parse_tiles_across(d.pop("tiles_across", UNSET))

        def _parse_width_cm(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        width_cm = _parse_width_cm(d.pop("width_cm", UNSET))

        def _parse_width_px(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        width_px = _parse_width_px(d.pop("width_px", UNSET))

        export_request = cls(
            colors=colors,
            dot_pitch_mm=dot_pitch_mm,
            dpi=dpi,
            format_=format_,
            palette=palette,
            repeat=repeat,
            symmetry=symmetry,
            tiles_across=tiles_across,
            width_cm=width_cm,
            width_px=width_px,
        )

        return export_request
