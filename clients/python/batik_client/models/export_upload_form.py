from __future__ import annotations

from collections.abc import Mapping
from io import BytesIO
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from .. import types
from ..models.export_upload_form_format import ExportUploadFormFormat
from ..models.export_upload_form_symmetry import ExportUploadFormSymmetry
from ..models.repeat import Repeat
from ..types import UNSET, File, Unset

T = TypeVar("T", bound="ExportUploadForm")


@_attrs_define
class ExportUploadForm:
    """The `POST /v1/designs/{id}/export` options as a form, with the tile as a file.

    Attributes:
        image (File): The tile (PNG, JPEG or WebP).
        colors (int | Unset): Quantise to this many colours.
        dot_pitch_mm (float | Unset): svg: distance between dot centres; default 48 dots across a tile. Adjusted to a
            whole, even number of dots per tile so the dots repeat with the tile.
        dpi (int | Unset): Dots per inch of the print. Default: 300.
        format_ (ExportUploadFormFormat | Unset): png, tiff and pdf: raster; svg: nitik dots. Default:
            ExportUploadFormFormat.PNG.
        palette (str | Unset): Map onto a named palette: sogan_yogya, sogan_solo, indigo_cream, bang_biru_lasem.
        repeat (Repeat | Unset): How a tile is laid out on cloth: a seamless repeat, mirror (alternate tiles mirrored)
            or none (one tile).
        symmetry (ExportUploadFormSymmetry | Unset): svg: symmetrise the dot grid with this group (square tiles).
            Default: ExportUploadFormSymmetry.NONE.
        tiles_across (int | Unset): Tiles across the page width (as many rows down); default 2, or 1 for repeat none.
        width_cm (float | Unset): Physical width of the page; default 20 cm unless width_px.
        width_px (int | Unset): Width in pixels instead of width_cm.
    """

    image: File
    colors: int | Unset = UNSET
    dot_pitch_mm: float | Unset = UNSET
    dpi: int | Unset = 300
    format_: ExportUploadFormFormat | Unset = ExportUploadFormFormat.PNG
    palette: str | Unset = UNSET
    repeat: Repeat | Unset = UNSET
    symmetry: ExportUploadFormSymmetry | Unset = ExportUploadFormSymmetry.NONE
    tiles_across: int | Unset = UNSET
    width_cm: float | Unset = UNSET
    width_px: int | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        image = self.image.to_tuple()

        colors = self.colors

        dot_pitch_mm = self.dot_pitch_mm

        dpi = self.dpi

        format_: str | Unset = UNSET
        if not isinstance(self.format_, Unset):
            format_ = self.format_.value

        palette = self.palette

        repeat: str | Unset = UNSET
        if not isinstance(self.repeat, Unset):
            repeat = self.repeat.value

        symmetry: str | Unset = UNSET
        if not isinstance(self.symmetry, Unset):
            symmetry = self.symmetry.value

        tiles_across = self.tiles_across

        width_cm = self.width_cm

        width_px = self.width_px

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "image": image,
            }
        )
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

    def to_multipart(self) -> types.RequestFiles:
        files: types.RequestFiles = []

        files.append(("image", self.image.to_tuple()))

        if not isinstance(self.colors, Unset):
            files.append(("colors", (None, str(self.colors).encode(), "text/plain")))

        if not isinstance(self.dot_pitch_mm, Unset):
            files.append(("dot_pitch_mm", (None, str(self.dot_pitch_mm).encode(), "text/plain")))

        if not isinstance(self.dpi, Unset):
            files.append(("dpi", (None, str(self.dpi).encode(), "text/plain")))

        if not isinstance(self.format_, Unset):
            files.append(("format", (None, str(self.format_.value).encode(), "text/plain")))

        if not isinstance(self.palette, Unset):
            files.append(("palette", (None, str(self.palette).encode(), "text/plain")))

        if not isinstance(self.repeat, Unset):
            files.append(("repeat", (None, str(self.repeat.value).encode(), "text/plain")))

        if not isinstance(self.symmetry, Unset):
            files.append(("symmetry", (None, str(self.symmetry.value).encode(), "text/plain")))

        if not isinstance(self.tiles_across, Unset):
            files.append(("tiles_across", (None, str(self.tiles_across).encode(), "text/plain")))

        if not isinstance(self.width_cm, Unset):
            files.append(("width_cm", (None, str(self.width_cm).encode(), "text/plain")))

        if not isinstance(self.width_px, Unset):
            files.append(("width_px", (None, str(self.width_px).encode(), "text/plain")))

        for prop_name, prop in self.additional_properties.items():
            files.append((prop_name, (None, str(prop).encode(), "text/plain")))

        return files

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        image = File(payload=BytesIO(d.pop("image")))

        colors = d.pop("colors", UNSET)

        dot_pitch_mm = d.pop("dot_pitch_mm", UNSET)

        dpi = d.pop("dpi", UNSET)

        _format_ = d.pop("format", UNSET)
        format_: ExportUploadFormFormat | Unset
        if isinstance(_format_, Unset):
            format_ = UNSET
        else:
            format_ = ExportUploadFormFormat(_format_)

        palette = d.pop("palette", UNSET)

        _repeat = d.pop("repeat", UNSET)
        repeat: Repeat | Unset
        if isinstance(_repeat, Unset):
            repeat = UNSET
        else:
            repeat = Repeat(_repeat)

        _symmetry = d.pop("symmetry", UNSET)
        symmetry: ExportUploadFormSymmetry | Unset
        if isinstance(_symmetry, Unset):
            symmetry = UNSET
        else:
            symmetry = ExportUploadFormSymmetry(_symmetry)

        tiles_across = d.pop("tiles_across", UNSET)

        width_cm = d.pop("width_cm", UNSET)

        width_px = d.pop("width_px", UNSET)

        export_upload_form = cls(
            image=image,
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

        export_upload_form.additional_properties = d
        return export_upload_form

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
