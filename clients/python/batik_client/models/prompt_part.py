from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.prompt_part_kept import PromptPartKept
from ..models.prompt_part_source import PromptPartSource

T = TypeVar("T", bound="PromptPart")


@_attrs_define
class PromptPart:
    """
    Attributes:
        kept (PromptPartKept):
        source (PromptPartSource):
        text (str): The part as offered to fusion.
        tokens (int): Its length under SD's tokenizer.
    """

    kept: PromptPartKept
    source: PromptPartSource
    text: str
    tokens: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        kept = self.kept.value

        source = self.source.value

        text = self.text

        tokens = self.tokens

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "kept": kept,
                "source": source,
                "text": text,
                "tokens": tokens,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        kept = PromptPartKept(d.pop("kept"))

        source = PromptPartSource(d.pop("source"))

        text = d.pop("text")

        tokens = d.pop("tokens")

        prompt_part = cls(
            kept=kept,
            source=source,
            text=text,
            tokens=tokens,
        )

        prompt_part.additional_properties = d
        return prompt_part

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
