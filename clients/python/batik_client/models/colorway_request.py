from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.colorway_request_palettes_item import ColorwayRequestPalettesItem
from ..types import UNSET, Unset

T = TypeVar("T", bound="ColorwayRequest")


@_attrs_define
class ColorwayRequest:
    """
    Attributes:
        palettes (list[ColorwayRequestPalettesItem]): Named palettes, one variant each: sogan_yogya, sogan_solo,
            indigo_cream, bang_biru_lasem.
        colors (int | None | Unset): Clusters mapped onto each palette; default the palette's own count.
        save (bool | Unset): Keep each variant as a design whose parent is this one. Default: True.
    """

    palettes: list[ColorwayRequestPalettesItem]
    colors: int | None | Unset = UNSET
    save: bool | Unset = True

    def to_dict(self) -> dict[str, Any]:
        palettes = []
        for palettes_item_data in self.palettes:
            palettes_item = palettes_item_data.value
            palettes.append(palettes_item)

        colors: int | None | Unset
        if isinstance(self.colors, Unset):
            colors = UNSET
        else:
            colors = self.colors

        save = self.save

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "palettes": palettes,
            }
        )
        if colors is not UNSET:
            field_dict["colors"] = colors
        if save is not UNSET:
            field_dict["save"] = save

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        palettes = []
        _palettes = d.pop("palettes")
        for palettes_item_data in _palettes:
            palettes_item = ColorwayRequestPalettesItem(palettes_item_data)

            palettes.append(palettes_item)

        def _parse_colors(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        colors = _parse_colors(d.pop("colors", UNSET))

        save = d.pop("save", UNSET)

        colorway_request = cls(
            palettes=palettes,
            colors=colors,
            save=save,
        )

        return colorway_request
