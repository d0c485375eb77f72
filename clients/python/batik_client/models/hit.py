from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.channel_score import ChannelScore
    from ..models.motif import Motif


T = TypeVar("T", bound="Hit")


@_attrs_define
class Hit:
    """
    Attributes:
        file (str):
        id (int): Row id in the index; `GET /v1/images/{id}` returns the image.
        instance (int):
        motif (Motif):
        rotation (int):
        score (float): Cosine similarity between the query and the image.
        fused_score (float | None | Unset): The reciprocal rank fusion score hits are ordered by, when the lexical
            channel took part; null when the order is the visual one (then by `score`).
        lexical (ChannelScore | None | Unset): The lexical (BM25) channel's part; null when it took no part.
        visual (ChannelScore | None | Unset): The visual (CLIP) channel's part.
    """

    file: str
    id: int
    instance: int
    motif: Motif
    rotation: int
    score: float
    fused_score: float | None | Unset = UNSET
    lexical: ChannelScore | None | Unset = UNSET
    visual: ChannelScore | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.channel_score import ChannelScore  # noqa: PLC0415

        file = self.file

        id = self.id

        instance = self.instance

        motif = self.motif.to_dict()

        rotation = self.rotation

        score = self.score

        fused_score: float | None | Unset
        if isinstance(self.fused_score, Unset):
            fused_score = UNSET
        else:
            fused_score = self.fused_score

        lexical: dict[str, Any] | None | Unset
        if isinstance(self.lexical, Unset):
            lexical = UNSET
        elif isinstance(self.lexical, ChannelScore):
            lexical = self.lexical.to_dict()
        else:
            lexical = self.lexical

        visual: dict[str, Any] | None | Unset
        if isinstance(self.visual, Unset):
            visual = UNSET
        elif isinstance(self.visual, ChannelScore):
            visual = self.visual.to_dict()
        else:
            visual = self.visual

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "file": file,
                "id": id,
                "instance": instance,
                "motif": motif,
                "rotation": rotation,
                "score": score,
            }
        )
        if fused_score is not UNSET:
            field_dict["fused_score"] = fused_score
        if lexical is not UNSET:
            field_dict["lexical"] = lexical
        if visual is not UNSET:
            field_dict["visual"] = visual

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.channel_score import ChannelScore  # noqa: PLC0415
        from ..models.motif import Motif  # noqa: PLC0415

        d = dict(src_dict)
        file = d.pop("file")

        id = d.pop("id")

        instance = d.pop("instance")

        motif = Motif.from_dict(d.pop("motif"))

        rotation = d.pop("rotation")

        score = d.pop("score")

        def _parse_fused_score(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        fused_score = _parse_fused_score(d.pop("fused_score", UNSET))

        def _parse_lexical(data: object) -> ChannelScore | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                lexical_type_0 = ChannelScore.from_dict(data)

                return lexical_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(ChannelScore | None | Unset, data)

        lexical = _parse_lexical(d.pop("lexical", UNSET))

        def _parse_visual(data: object) -> ChannelScore | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                visual_type_0 = ChannelScore.from_dict(data)

                return visual_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(ChannelScore | None | Unset, data)

        visual = _parse_visual(d.pop("visual", UNSET))

        hit = cls(
            file=file,
            id=id,
            instance=instance,
            motif=motif,
            rotation=rotation,
            score=score,
            fused_score=fused_score,
            lexical=lexical,
            visual=visual,
        )

        hit.additional_properties = d
        return hit

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
