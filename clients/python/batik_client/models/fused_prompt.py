from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.prompt_part import PromptPart


T = TypeVar("T", bound="FusedPrompt")


@_attrs_define
class FusedPrompt:
    """
    Attributes:
        cut (list[str]): Text that did not fit, per part cut.
        parts (list[PromptPart]):
        text (str):
        tokens (int): Tokens of `text` including start and end tokens (<= 77).
        truncated (bool): True when some part was cut or dropped to fit.
    """

    cut: list[str]
    parts: list[PromptPart]
    text: str
    tokens: int
    truncated: bool
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        cut = self.cut

        parts = []
        for parts_item_data in self.parts:
            parts_item = parts_item_data.to_dict()
            parts.append(parts_item)

        text = self.text

        tokens = self.tokens

        truncated = self.truncated

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "cut": cut,
                "parts": parts,
                "text": text,
                "tokens": tokens,
                "truncated": truncated,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.prompt_part import PromptPart  # noqa: PLC0415

        d = dict(src_dict)
        cut = cast(list[str], d.pop("cut"))

        parts = []
        _parts = d.pop("parts")
        for parts_item_data in _parts:
            parts_item = PromptPart.from_dict(parts_item_data)

            parts.append(parts_item)

        text = d.pop("text")

        tokens = d.pop("tokens")

        truncated = d.pop("truncated")

        fused_prompt = cls(
            cut=cut,
            parts=parts,
            text=text,
            tokens=tokens,
            truncated=truncated,
        )

        fused_prompt.additional_properties = d
        return fused_prompt

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
