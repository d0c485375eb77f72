from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.style_info import StyleInfo


T = TypeVar("T", bound="StyleList")


@_attrs_define
class StyleList:
    """
    Attributes:
        styles (list[StyleInfo]):
        default (None | str | Unset): GENERATION_STYLE: fused at load.
        preview (bool | Unset): Whether `preview: true` is available. Default: False.
    """

    styles: list[StyleInfo]
    default: None | str | Unset = UNSET
    preview: bool | Unset = False
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        styles = []
        for styles_item_data in self.styles:
            styles_item = styles_item_data.to_dict()
            styles.append(styles_item)

        default: None | str | Unset
        if isinstance(self.default, Unset):
            default = UNSET
        else:
            default = self.default

        preview = self.preview

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "styles": styles,
            }
        )
        if default is not UNSET:
            field_dict["default"] = default
        if preview is not UNSET:
            field_dict["preview"] = preview

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.style_info import StyleInfo  # noqa: PLC0415

        d = dict(src_dict)
        styles = []
        _styles = d.pop("styles")
        for styles_item_data in _styles:
            styles_item = StyleInfo.from_dict(styles_item_data)

            styles.append(styles_item)

        def _parse_default(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        default = _parse_default(d.pop("default", UNSET))

        preview = d.pop("preview", UNSET)

        style_list = cls(
            styles=styles,
            default=default,
            preview=preview,
        )

        style_list.additional_properties = d
        return style_list

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
