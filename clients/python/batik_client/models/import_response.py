from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.import_response_source import ImportResponseSource

if TYPE_CHECKING:
    from ..models.import_response_request import ImportResponseRequest


T = TypeVar("T", bound="ImportResponse")


@_attrs_define
class ImportResponse:
    """`POST /v1/designs/import`: the RAG request that recalls a PNG's settings.

    Attributes:
        request (ImportResponseRequest): RAG request fields (text, seed, steps, ...).
        source (ImportResponseSource): batik: our iTXt provenance chunk; parameters: an AUTOMATIC1111-style `parameters`
            text chunk (ours or another tool's).
    """

    request: ImportResponseRequest
    source: ImportResponseSource
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        request = self.request.to_dict()

        source = self.source.value

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "request": request,
                "source": source,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.import_response_request import ImportResponseRequest  # noqa: PLC0415

        d = dict(src_dict)
        request = ImportResponseRequest.from_dict(d.pop("request"))

        source = ImportResponseSource(d.pop("source"))

        import_response = cls(
            request=request,
            source=source,
        )

        import_response.additional_properties = d
        return import_response

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
