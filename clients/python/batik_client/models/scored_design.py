from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.design import Design


T = TypeVar("T", bound="ScoredDesign")


@_attrs_define
class ScoredDesign:
    """
    Attributes:
        design (Design):
        score (float): Cosine similarity to the query, in [-1, 1].
    """

    design: Design
    score: float
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        design = self.design.to_dict()

        score = self.score

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "design": design,
                "score": score,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.design import Design  # noqa: PLC0415

        d = dict(src_dict)
        design = Design.from_dict(d.pop("design"))

        score = d.pop("score")

        scored_design = cls(
            design=design,
            score=score,
        )

        scored_design.additional_properties = d
        return scored_design

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
