from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.response_format import ResponseFormat
from ..models.seamless_repeat import SeamlessRepeat
from ..types import UNSET, Unset

T = TypeVar("T", bound="RemixRequest")


@_attrs_define
class RemixRequest:
    """`POST /v1/designs/{id}/remix`: the design's recorded request again, with these changes.

    Attributes:
        guidance_scale (float | None | Unset):
        repeat (None | SeamlessRepeat | Unset):
        response_format (ResponseFormat | Unset): How an answer carries its images: inline base64 PNG, or signed
            expiring URLs.
        save (bool | Unset): Keep the remix as a design (its parent: the original). Default: True.
        seed (int | None | Unset):
        steps (int | None | Unset):
        strength (float | None | Unset):
        symmetry (None | str | Unset):
        text (None | str | Unset):
        tile (bool | None | Unset):
    """

    guidance_scale: float | None | Unset = UNSET
    repeat: None | SeamlessRepeat | Unset = UNSET
    response_format: ResponseFormat | Unset = UNSET
    save: bool | Unset = True
    seed: int | None | Unset = UNSET
    steps: int | None | Unset = UNSET
    strength: float | None | Unset = UNSET
    symmetry: None | str | Unset = UNSET
    text: None | str | Unset = UNSET
    tile: bool | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        guidance_scale: float | None | Unset
        if isinstance(self.guidance_scale, Unset):
            guidance_scale = UNSET
        else:
            guidance_scale = self.guidance_scale

        repeat: None | str | Unset
        if isinstance(self.repeat, Unset):
            repeat = UNSET
        elif isinstance(self.repeat, SeamlessRepeat):
            repeat = self.repeat.value
        else:
            repeat = self.repeat

        response_format: str | Unset = UNSET
        if not isinstance(self.response_format, Unset):
            response_format = self.response_format.value

        save = self.save

        seed: int | None | Unset
        if isinstance(self.seed, Unset):
            seed = UNSET
        else:
            seed = self.seed

        steps: int | None | Unset
        if isinstance(self.steps, Unset):
            steps = UNSET
        else:
            steps = self.steps

        strength: float | None | Unset
        if isinstance(self.strength, Unset):
            strength = UNSET
        else:
            strength = self.strength

        symmetry: None | str | Unset
        if isinstance(self.symmetry, Unset):
            symmetry = UNSET
        else:
            symmetry = self.symmetry

        text: None | str | Unset
        if isinstance(self.text, Unset):
            text = UNSET
        else:
            text = self.text

        tile: bool | None | Unset
        if isinstance(self.tile, Unset):
            tile = UNSET
        else:
            tile = self.tile

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if guidance_scale is not UNSET:
            field_dict["guidance_scale"] = guidance_scale
        if repeat is not UNSET:
            field_dict["repeat"] = repeat
        if response_format is not UNSET:
            field_dict["response_format"] = response_format
        if save is not UNSET:
            field_dict["save"] = save
        if seed is not UNSET:
            field_dict["seed"] = seed
        if steps is not UNSET:
            field_dict["steps"] = steps
        if strength is not UNSET:
            field_dict["strength"] = strength
        if symmetry is not UNSET:
            field_dict["symmetry"] = symmetry
        if text is not UNSET:
            field_dict["text"] = text
        if tile is not UNSET:
            field_dict["tile"] = tile

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)

        def _parse_guidance_scale(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        guidance_scale = _parse_guidance_scale(d.pop("guidance_scale", UNSET))

        def _parse_repeat(data: object) -> None | SeamlessRepeat | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                repeat_type_0 = SeamlessRepeat(data)

                return repeat_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | SeamlessRepeat | Unset, data)

        repeat = _parse_repeat(d.pop("repeat", UNSET))

        _response_format = d.pop("response_format", UNSET)
        response_format: ResponseFormat | Unset
        if isinstance(_response_format, Unset):
            response_format = UNSET
        else:
            response_format = ResponseFormat(_response_format)

        save = d.pop("save", UNSET)

        def _parse_seed(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        seed = _parse_seed(d.pop("seed", UNSET))

        def _parse_steps(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        steps = _parse_steps(d.pop("steps", UNSET))

        def _parse_strength(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        strength = _parse_strength(d.pop("strength", UNSET))

        def _parse_symmetry(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        symmetry = _parse_symmetry(d.pop("symmetry", UNSET))

        def _parse_text(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        text = _parse_text(d.pop("text", UNSET))

        def _parse_tile(data: object) -> bool | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(bool | None | Unset, data)

        tile = _parse_tile(d.pop("tile", UNSET))

        remix_request = cls(
            guidance_scale=guidance_scale,
            repeat=repeat,
            response_format=response_format,
            save=save,
            seed=seed,
            steps=steps,
            strength=strength,
            symmetry=symmetry,
            text=text,
            tile=tile,
        )

        return remix_request
