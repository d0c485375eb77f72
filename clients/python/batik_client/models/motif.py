from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="Motif")


@_attrs_define
class Motif:
    """
    Attributes:
        name (str):
        number (int): The motif's `No.` in the dataset's metadata workbook.
        description_en (str | Unset): English description. Default: ''.
        description_id (str | Unset): Indonesian description. Default: ''.
        philosophy (str | Unset): The English sentences about the motif's meaning. Default: ''.
    """

    name: str
    number: int
    description_en: str | Unset = ""
    description_id: str | Unset = ""
    philosophy: str | Unset = ""
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        name = self.name

        number = self.number

        description_en = self.description_en

        description_id = self.description_id

        philosophy = self.philosophy

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "name": name,
                "number": number,
            }
        )
        if description_en is not UNSET:
            field_dict["description_en"] = description_en
        if description_id is not UNSET:
            field_dict["description_id"] = description_id
        if philosophy is not UNSET:
            field_dict["philosophy"] = philosophy

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        name = d.pop("name")

        number = d.pop("number")

        description_en = d.pop("description_en", UNSET)

        description_id = d.pop("description_id", UNSET)

        philosophy = d.pop("philosophy", UNSET)

        motif = cls(
            name=name,
            number=number,
            description_en=description_en,
            description_id=description_id,
            philosophy=philosophy,
        )

        motif.additional_properties = d
        return motif

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
