from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="DesignSearch")


@_attrs_define
class DesignSearch:
    """`POST /v1/designs/search`: the caller's designs nearest to a text or an image (CLIP).

    Attributes:
        image (None | str | Unset): An image (base64).
        limit (int | Unset):  Default: 10.
        text (None | str | Unset):
    """

    image: None | str | Unset = UNSET
    limit: int | Unset = 10
    text: None | str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        image: None | str | Unset
        if isinstance(self.image, Unset):
            image = UNSET
        else:
            image = self.image

        limit = self.limit

        text: None | str | Unset
        if isinstance(self.text, Unset):
            text = UNSET
        else:
            text = self.text

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if image is not UNSET:
            field_dict["image"] = image
        if limit is not UNSET:
            field_dict["limit"] = limit
        if text is not UNSET:
            field_dict["text"] = text

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)

        def _parse_image(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        image = _parse_image(d.pop("image", UNSET))

        limit = d.pop("limit", UNSET)

        def _parse_text(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        text = _parse_text(d.pop("text", UNSET))

        design_search = cls(
            image=image,
            limit=limit,
            text=text,
        )

        return design_search
