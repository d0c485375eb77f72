from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.colorway import Colorway


T = TypeVar("T", bound="ColorwayResponse")


@_attrs_define
class ColorwayResponse:
    """
    Attributes:
        colorways (list[Colorway]):
        parent_id (str): The design the variants were made from.
        sheet (str): The original and its variants side by side, PNG as base64.
    """

    colorways: list[Colorway]
    parent_id: str
    sheet: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        colorways = []
        for colorways_item_data in self.colorways:
            colorways_item = colorways_item_data.to_dict()
            colorways.append(colorways_item)

        parent_id = self.parent_id

        sheet = self.sheet

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "colorways": colorways,
                "parent_id": parent_id,
                "sheet": sheet,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.colorway import Colorway  # noqa: PLC0415

        d = dict(src_dict)
        colorways = []
        _colorways = d.pop("colorways")
        for colorways_item_data in _colorways:
            colorways_item = Colorway.from_dict(colorways_item_data)

            colorways.append(colorways_item)

        parent_id = d.pop("parent_id")

        sheet = d.pop("sheet")

        colorway_response = cls(
            colorways=colorways,
            parent_id=parent_id,
            sheet=sheet,
        )

        colorway_response.additional_properties = d
        return colorway_response

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
