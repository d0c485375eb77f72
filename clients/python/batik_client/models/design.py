from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.design_provenance import DesignProvenance


T = TypeVar("T", bound="Design")


@_attrs_define
class Design:
    """
    Attributes:
        created_at (datetime.datetime): When it was saved (UTC).
        height (int):
        id (str): Short url-safe id, `d_` and 20 hex digits.
        owner (str): The owner's id (an API key's id, never the key).
        sha256 (str): sha256 of the PNG bytes (also its ETag).
        url (str): Path of the PNG on the gateway: /v1/designs/{id}/image.
        width (int):
        board_ids (list[str] | Unset): Boards it is on.
        favorite (bool | Unset):  Default: False.
        motifs (list[int] | Unset): Motif numbers of the references it was made from.
        notes (None | str | Unset):
        parent_id (None | str | Unset): The design this one remixes, if any.
        prompt (str | Unset): The fused prompt it was generated with. Default: ''.
        provenance (DesignProvenance | Unset):
        tags (list[str] | Unset):
        title (None | str | Unset):
    """

    created_at: datetime.datetime
    height: int
    id: str
    owner: str
    sha256: str
    url: str
    width: int
    board_ids: list[str] | Unset = UNSET
    favorite: bool | Unset = False
    motifs: list[int] | Unset = UNSET
    notes: None | str | Unset = UNSET
    parent_id: None | str | Unset = UNSET
    prompt: str | Unset = ""
    provenance: DesignProvenance | Unset = UNSET
    tags: list[str] | Unset = UNSET
    title: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        created_at = self.created_at.isoformat()

        height = self.height

        id = self.id

        owner = self.owner

        sha256 = self.sha256

        url = self.url

        width = self.width

        board_ids: list[str] | Unset = UNSET
        if not isinstance(self.board_ids, Unset):
            board_ids = self.board_ids

        favorite = self.favorite

        motifs: list[int] | Unset = UNSET
        if not isinstance(self.motifs, Unset):
            motifs = self.motifs

        notes: None | str | Unset
        if isinstance(self.notes, Unset):
            notes = UNSET
        else:
            notes = self.notes

        parent_id: None | str | Unset
        if isinstance(self.parent_id, Unset):
            parent_id = UNSET
        else:
            parent_id = self.parent_id

        prompt = self.prompt

        provenance: dict[str, Any] | Unset = UNSET
        if not isinstance(self.provenance, Unset):
            provenance = self.provenance.to_dict()

        tags: list[str] | Unset = UNSET
        if not isinstance(self.tags, Unset):
            tags = self.tags

        title: None | str | Unset
        if isinstance(self.title, Unset):
            title = UNSET
        else:
            title = self.title

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "created_at": created_at,
                "height": height,
                "id": id,
                "owner": owner,
                "sha256": sha256,
                "url": url,
                "width": width,
            }
        )
        if board_ids is not UNSET:
            field_dict["board_ids"] = board_ids
        if favorite is not UNSET:
            field_dict["favorite"] = favorite
        if motifs is not UNSET:
            field_dict["motifs"] = motifs
        if notes is not UNSET:
            field_dict["notes"] = notes
        if parent_id is not UNSET:
            field_dict["parent_id"] = parent_id
        if prompt is not UNSET:
            field_dict["prompt"] = prompt
        if provenance is not UNSET:
            field_dict["provenance"] = provenance
        if tags is not UNSET:
            field_dict["tags"] = tags
        if title is not UNSET:
            field_dict["title"] = title

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.design_provenance import DesignProvenance  # noqa: PLC0415

        d = dict(src_dict)
        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        height = d.pop("height")

        id = d.pop("id")

        owner = d.pop("owner")

        sha256 = d.pop("sha256")

        url = d.pop("url")

        width = d.pop("width")

        board_ids = cast(list[str], d.pop("board_ids", UNSET))

        favorite = d.pop("favorite", UNSET)

        motifs = cast(list[int], d.pop("motifs", UNSET))

        def _parse_notes(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        notes = _parse_notes(d.pop("notes", UNSET))

        def _parse_parent_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        parent_id = _parse_parent_id(d.pop("parent_id", UNSET))

        prompt = d.pop("prompt", UNSET)

        _provenance = d.pop("provenance", UNSET)
        provenance: DesignProvenance | Unset
        if isinstance(_provenance, Unset):
            provenance = UNSET
        else:
            provenance = DesignProvenance.from_dict(_provenance)

        tags = cast(list[str], d.pop("tags", UNSET))

        def _parse_title(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        title = _parse_title(d.pop("title", UNSET))

        design = cls(
            created_at=created_at,
            height=height,
            id=id,
            owner=owner,
            sha256=sha256,
            url=url,
            width=width,
            board_ids=board_ids,
            favorite=favorite,
            motifs=motifs,
            notes=notes,
            parent_id=parent_id,
            prompt=prompt,
            provenance=provenance,
            tags=tags,
            title=title,
        )

        design.additional_properties = d
        return design

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
