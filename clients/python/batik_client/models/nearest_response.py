from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.scored_design import ScoredDesign


T = TypeVar("T", bound="NearestResponse")


@_attrs_define
class NearestResponse:
    """
    Attributes:
        designs (list[ScoredDesign]): Best first; designs without an embedding are skipped.
    """

    designs: list[ScoredDesign]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        designs = []
        for designs_item_data in self.designs:
            designs_item = designs_item_data.to_dict()
            designs.append(designs_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "designs": designs,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.scored_design import ScoredDesign  # noqa: PLC0415

        d = dict(src_dict)
        designs = []
        _designs = d.pop("designs")
        for designs_item_data in _designs:
            designs_item = ScoredDesign.from_dict(designs_item_data)

            designs.append(designs_item)

        nearest_response = cls(
            designs=designs,
        )

        nearest_response.additional_properties = d
        return nearest_response

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
