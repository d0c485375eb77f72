from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="StyleInfo")


@_attrs_define
class StyleInfo:
    """
    Attributes:
        base_model (str): The model it was trained on (source).
        base_version (str):
        name (str):
        rank (int):
        trigger_words (list[str]): Put them in the prompt to call the style up.
        version (str): Content version of the style folder.
        fused (bool | Unset): The default style, fused into the weights at load. Default: False.
    """

    base_model: str
    base_version: str
    name: str
    rank: int
    trigger_words: list[str]
    version: str
    fused: bool | Unset = False
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        base_model = self.base_model

        base_version = self.base_version

        name = self.name

        rank = self.rank

        trigger_words = self.trigger_words

        version = self.version

        fused = self.fused

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "base_model": base_model,
                "base_version": base_version,
                "name": name,
                "rank": rank,
                "trigger_words": trigger_words,
                "version": version,
            }
        )
        if fused is not UNSET:
            field_dict["fused"] = fused

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        base_model = d.pop("base_model")

        base_version = d.pop("base_version")

        name = d.pop("name")

        rank = d.pop("rank")

        trigger_words = cast(list[str], d.pop("trigger_words"))

        version = d.pop("version")

        fused = d.pop("fused", UNSET)

        style_info = cls(
            base_model=base_model,
            base_version=base_version,
            name=name,
            rank=rank,
            trigger_words=trigger_words,
            version=version,
            fused=fused,
        )

        style_info.additional_properties = d
        return style_info

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
