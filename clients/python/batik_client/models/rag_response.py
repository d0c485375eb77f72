from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.degraded_stage import DegradedStage
from ..models.rag_response_mode_type_0 import RagResponseModeType0
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.applied_style import AppliedStyle
    from ..models.cache_info import CacheInfo
    from ..models.caption import Caption
    from ..models.design_ref import DesignRef
    from ..models.fused_prompt import FusedPrompt
    from ..models.hit import Hit
    from ..models.rag_response_symmetry_scores import RagResponseSymmetryScores
    from ..models.rag_response_timings_ms import RagResponseTimingsMs


T = TypeVar("T", bound="RagResponse")


@_attrs_define
class RagResponse:
    """
    Attributes:
        cache (CacheInfo):
        captions (list[Caption]):
        degraded (list[DegradedStage]): Stages that failed and were skipped; `library`: the library does not answer
            (with `designs`: they are queued and saved once it is back; without: not saved).
        images (list[str]): Base64 PNG images (empty with `response_format: url`: see `image_urls`).
        prompt (FusedPrompt):
        references (list[Hit]):
        seed (int | None):
        timings_ms (RagResponseTimingsMs):
        designs (list[DesignRef] | Unset): The saved design of each image, in order; empty with `save: false`, without a
            library, or when saving failed (then `library` is in `degraded`).
        image_urls (list[str] | Unset): With `response_format: url`: each image's signed URL (no API key needed), valid
            for GATEWAY_URL_TTL_S; a tampered or expired one answers 403.
        index_version (None | str | Unset): The index version the references come from (their ids belong to it): pass it
            to `GET /v1/images/{id}?index_version=` so a reload never shows another row's image.
        mode (None | RagResponseModeType0 | Unset):
        model (None | str | Unset): The generation model that ran.
        model_version (None | str | Unset): The generation model's version with the styles it ran (name@version).
        preview_urls (list[str] | Unset): With preview_repeat and `response_format: url`: each preview's signed URL.
        previews (list[str] | Unset): With preview_repeat: each image tiled 3x3 (base64 PNG).
        scheduler (None | str | Unset): The sampler that ran.
        styles (list[AppliedStyle] | Unset): The styles the images were made with.
        symmetry (None | str | Unset): The symmetry group applied (auto resolved).
        symmetry_scores (RagResponseSymmetryScores | Unset): With symmetry=auto: the init image's error per group.
    """

    cache: CacheInfo
    captions: list[Caption]
    degraded: list[DegradedStage]
    images: list[str]
    prompt: FusedPrompt
    references: list[Hit]
    seed: int | None
    timings_ms: RagResponseTimingsMs
    designs: list[DesignRef] | Unset = UNSET
    image_urls: list[str] | Unset = UNSET
    index_version: None | str | Unset = UNSET
    mode: None | RagResponseModeType0 | Unset = UNSET
    model: None | str | Unset = UNSET
    model_version: None | str | Unset = UNSET
    preview_urls: list[str] | Unset = UNSET
    previews: list[str] | Unset = UNSET
    scheduler: None | str | Unset = UNSET
    styles: list[AppliedStyle] | Unset = UNSET
    symmetry: None | str | Unset = UNSET
    symmetry_scores: RagResponseSymmetryScores | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        cache = self.cache.to_dict()

        captions = []
        for captions_item_data in self.captions:
            captions_item = captions_item_data.to_dict()
            captions.append(captions_item)

        degraded = []
        for degraded_item_data in self.degraded:
            degraded_item = degraded_item_data.value
            degraded.append(degraded_item)

        images = self.images

        prompt = self.prompt.to_dict()

        references = []
        for references_item_data in self.references:
            references_item = references_item_data.to_dict()
            references.append(references_item)

        seed: int | None
        seed = self.seed

        timings_ms = self.timings_ms.to_dict()

        designs: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.designs, Unset):
            designs = []
            for designs_item_data in self.designs:
                designs_item = designs_item_data.to_dict()
                designs.append(designs_item)

        image_urls: list[str] | Unset = UNSET
        if not isinstance(self.image_urls, Unset):
            image_urls = self.image_urls

        index_version: None | str | Unset
        if isinstance(self.index_version, Unset):
            index_version = UNSET
        else:
            index_version = self.index_version

        mode: None | str | Unset
        if isinstance(self.mode, Unset):
            mode = UNSET
        elif isinstance(self.mode, RagResponseModeType0):
            mode = self.mode.value
        else:
            mode = self.mode

        model: None | str | Unset
        if isinstance(self.model, Unset):
            model = UNSET
        else:
            model = self.model

        model_version: None | str | Unset
        if isinstance(self.model_version, Unset):
            model_version = UNSET
        else:
            model_version = self.model_version

        preview_urls: list[str] | Unset = UNSET
        if not isinstance(self.preview_urls, Unset):
            preview_urls = self.preview_urls

        previews: list[str] | Unset = UNSET
        if not isinstance(self.previews, Unset):
            previews = self.previews

        scheduler: None | str | Unset
        if isinstance(self.scheduler, Unset):
            scheduler = UNSET
        else:
            scheduler = self.scheduler

        styles: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.styles, Unset):
            styles = []
            for styles_item_data in self.styles:
                styles_item = styles_item_data.to_dict()
                styles.append(styles_item)

        symmetry: None | str | Unset
        if isinstance(self.symmetry, Unset):
            symmetry = UNSET
        else:
            symmetry = self.symmetry

        symmetry_scores: dict[str, Any] | Unset = UNSET
        if not isinstance(self.symmetry_scores, Unset):
            symmetry_scores = self.symmetry_scores.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "cache": cache,
                "captions": captions,
                "degraded": degraded,
                "images": images,
                "prompt": prompt,
                "references": references,
                "seed": seed,
                "timings_ms": timings_ms,
            }
        )
        if designs is not UNSET:
            field_dict["designs"] = designs
        if image_urls is not UNSET:
            field_dict["image_urls"] = image_urls
        if index_version is not UNSET:
            field_dict["index_version"] = index_version
        if mode is not UNSET:
            field_dict["mode"] = mode
        if model is not UNSET:
            field_dict["model"] = model
        if model_version is not UNSET:
            field_dict["model_version"] = model_version
        if preview_urls is not UNSET:
            field_dict["preview_urls"] = preview_urls
        if previews is not UNSET:
            field_dict["previews"] = previews
        if scheduler is not UNSET:
            field_dict["scheduler"] = scheduler
        if styles is not UNSET:
            field_dict["styles"] = styles
        if symmetry is not UNSET:
            field_dict["symmetry"] = symmetry
        if symmetry_scores is not UNSET:
            field_dict["symmetry_scores"] = symmetry_scores

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.applied_style import AppliedStyle  # noqa: PLC0415
        from ..models.cache_info import CacheInfo  # noqa: PLC0415
        from ..models.caption import Caption  # noqa: PLC0415
        from ..models.design_ref import DesignRef  # noqa: PLC0415
        from ..models.fused_prompt import FusedPrompt  # noqa: PLC0415
        from ..models.hit import Hit  # noqa: PLC0415
        from ..models.rag_response_symmetry_scores import RagResponseSymmetryScores  # noqa: PLC0415
        from ..models.rag_response_timings_ms import RagResponseTimingsMs  # noqa: PLC0415

        d = dict(src_dict)
        cache = CacheInfo.from_dict(d.pop("cache"))

        captions = []
        _captions = d.pop("captions")
        for captions_item_data in _captions:
            captions_item = Caption.from_dict(captions_item_data)

            captions.append(captions_item)

        degraded = []
        _degraded = d.pop("degraded")
        for degraded_item_data in _degraded:
            degraded_item = DegradedStage(degraded_item_data)

            degraded.append(degraded_item)

        images = cast(list[str], d.pop("images"))

        prompt = FusedPrompt.from_dict(d.pop("prompt"))

        references = []
        _references = d.pop("references")
        for references_item_data in _references:
            references_item = Hit.from_dict(references_item_data)

            references.append(references_item)

        def _parse_seed(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        seed = _parse_seed(d.pop("seed"))

        timings_ms = RagResponseTimingsMs.from_dict(d.pop("timings_ms"))

        _designs = d.pop("designs", UNSET)
        designs: list[DesignRef] | Unset = UNSET
        if _designs is not UNSET:
            designs = []
            for designs_item_data in _designs:
                designs_item = DesignRef.from_dict(designs_item_data)

                designs.append(designs_item)

        image_urls = cast(list[str], d.pop("image_urls", UNSET))

        def _parse_index_version(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        index_version = _parse_index_version(d.pop("index_version", UNSET))

        def _parse_mode(data: object) -> None | RagResponseModeType0 | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                mode_type_0 = RagResponseModeType0(data)

                return mode_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | RagResponseModeType0 | Unset, data)

        mode = _parse_mode(d.pop("mode", UNSET))

        def _parse_model(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        model = _parse_model(d.pop("model", UNSET))

        def _parse_model_version(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        model_version = _parse_model_version(d.pop("model_version", UNSET))

        preview_urls = cast(list[str], d.pop("preview_urls", UNSET))

        previews = cast(list[str], d.pop("previews", UNSET))

        def _parse_scheduler(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        scheduler = _parse_scheduler(d.pop("scheduler", UNSET))

        _styles = d.pop("styles", UNSET)
        styles: list[AppliedStyle] | Unset = UNSET
        if _styles is not UNSET:
            styles = []
            for styles_item_data in _styles:
                styles_item = AppliedStyle.from_dict(styles_item_data)

                styles.append(styles_item)

        def _parse_symmetry(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        symmetry = _parse_symmetry(d.pop("symmetry", UNSET))

        _symmetry_scores = d.pop("symmetry_scores", UNSET)
        symmetry_scores: RagResponseSymmetryScores | Unset
        if isinstance(_symmetry_scores, Unset):
            symmetry_scores = UNSET
        else:
            symmetry_scores = RagResponseSymmetryScores.from_dict(_symmetry_scores)

        rag_response = cls(
            cache=cache,
            captions=captions,
            degraded=degraded,
            images=images,
            prompt=prompt,
            references=references,
            seed=seed,
            timings_ms=timings_ms,
            designs=designs,
            image_urls=image_urls,
            index_version=index_version,
            mode=mode,
            model=model,
            model_version=model_version,
            preview_urls=preview_urls,
            previews=previews,
            scheduler=scheduler,
            styles=styles,
            symmetry=symmetry,
            symmetry_scores=symmetry_scores,
        )

        rag_response.additional_properties = d
        return rag_response

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
