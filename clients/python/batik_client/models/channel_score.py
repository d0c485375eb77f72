from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="ChannelScore")


@_attrs_define
class ChannelScore:
    """
    Attributes:
        score (float): visual: the cosine similarity; lexical: the motif's BM25 score (0: no match).
        descriptions (float | None | Unset): lexical: the BM25 score of its descriptions (> 0: a description matched);
            `score` = 2 x names + descriptions.
        names (float | None | Unset): lexical: the BM25 score of the motif's names (> 0: a name matched).
        rank (int | None | Unset): 1-based rank in that channel's list (visual: among photos when deduped; lexical:
            among motifs, equal scores share a rank); null: not in the list, so the channel adds nothing to the fused score.
    """

    score: float
    descriptions: float | None | Unset = UNSET
    names: float | None | Unset = UNSET
    rank: int | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        score = self.score

        descriptions: float | None | Unset
        if isinstance(self.descriptions, Unset):
            descriptions = UNSET
        else:
            descriptions = self.descriptions

        names: float | None | Unset
        if isinstance(self.names, Unset):
            names = UNSET
        else:
            names = self.names

        rank: int | None | Unset
        if isinstance(self.rank, Unset):
            rank = UNSET
        else:
            rank = self.rank

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "score": score,
            }
        )
        if descriptions is not UNSET:
            field_dict["descriptions"] = descriptions
        if names is not UNSET:
            field_dict["names"] = names
        if rank is not UNSET:
            field_dict["rank"] = rank

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        score = d.pop("score")

        def _parse_descriptions(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        descriptions = _parse_descriptions(d.pop("descriptions", UNSET))

        def _parse_names(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        names = _parse_names(d.pop("names", UNSET))

        def _parse_rank(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        rank = _parse_rank(d.pop("rank", UNSET))

        channel_score = cls(
            score=score,
            descriptions=descriptions,
            names=names,
            rank=rank,
        )

        channel_score.additional_properties = d
        return channel_score

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
