from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.init_source import InitSource
from ..models.response_format import ResponseFormat
from ..models.seamless_repeat import SeamlessRepeat
from ..models.symmetry import Symmetry
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.style_weight import StyleWeight


T = TypeVar("T", bound="RagRequest")


@_attrs_define
class RagRequest:
    """
    Attributes:
        control_scale (float | None | Unset): ControlNet on the edges of the control image (default: the init image);
            omit for none. Needs GENERATION_CONTROLNET.
        dedupe (bool | Unset): Keep only the best hit per source photo (motif + instance): the dataset holds four
            rotations of each photo. `false` answers the raw nearest neighbours. Default: True.
        generate (bool | Unset): False stops after retrieval, captioning and fusion. Default: True.
        guidance_scale (float | Unset):  Default: 7.5.
        image (None | str | Unset): A query image (base64).
        init_source (InitSource | Unset): Where img2img starts: the top reference, the query image, or nowhere
            (txt2img).
        lexical_weight (float | None | Unset): Queries with text: the share of the lexical ranking (BM25 over motif
            names, their spellings and descriptions) in the reciprocal rank fusion with the visual (CLIP) ranking. 0 ranks
            exactly as the visual search alone. Default: the service's `RETRIEVAL_LEXICAL_WEIGHT` (0.5). Ignored for image-
            only queries.
        motifs (list[int] | None | Unset): Search only these motif numbers (`No.` in the metadata). Exact with a flat
            index; omit the field to search everything.
        negative_prompt (None | str | Unset):
        preview (bool | Unset): A fast preview through the distillation LoRA (GENERATION_PREVIEW_LORA) and the LCM
            scheduler: steps 4-8 (default 4), guidance 1.0-2.0 (default 1.0). Default: False.
        preview_repeat (bool | Unset): Also answer each image repeated 3x3, as the cloth would show it (laid out in
            `repeat` when `tile`). Default: False.
        repeat (SeamlessRepeat | Unset): The repeat a generated tile is seamless in: full (a plain grid), half_drop
            (every other column down by half the tile), half_brick (every other row right by half).
        response_format (ResponseFormat | Unset): How an answer carries its images: inline base64 PNG, or signed
            expiring URLs.
        save (bool | Unset): Keep each generated image as a design in the caller's library (answered in `designs`);
            false: the answer only. Does not change the answer itself (nor its cache key). Default: True.
        seed (int | None | Unset): Omit for a random seed; the answer reports it.
        steps (int | Unset): Denoising steps before strength applies: img2img runs int(steps x strength) of them, which
            must be at least 1. Default: 30.
        strength (float | Unset): img2img: how far to depart from the init image (1.0 ignores it). Default: 0.55.
        style (None | str | Unset): A style by name (GET /v1/styles); omit for none (or the service's default).
        style_scale (float | Unset): Strength of `style`: 0 is none, 1 as trained. Default: 1.0.
        styles (list[StyleWeight] | None | Unset): A blend of styles, each at its scale (instead of `style`); each name
            once.
        symmetry (Symmetry | Unset): The symmetry group a motif grows with (auto: the strongest group the init image
            has).
        text (None | str | Unset): What the user is looking for.
        text_weight (float | Unset): With both text and image: the text's share of the query vector, which is the
            normalised sum `w * text + (1 - w) * image` of the two unit embeddings. 1 ranks as the text alone, 0 as the
            image alone. Ignored when only one is given. Default: 0.5.
        tile (bool | Unset): Seamless repeat: the tile continues across its own edges. Default: False.
        top_k (int | Unset): References to retrieve. Default: 5.
    """

    control_scale: float | None | Unset = UNSET
    dedupe: bool | Unset = True
    generate: bool | Unset = True
    guidance_scale: float | Unset = 7.5
    image: None | str | Unset = UNSET
    init_source: InitSource | Unset = UNSET
    lexical_weight: float | None | Unset = UNSET
    motifs: list[int] | None | Unset = UNSET
    negative_prompt: None | str | Unset = UNSET
    preview: bool | Unset = False
    preview_repeat: bool | Unset = False
    repeat: SeamlessRepeat | Unset = UNSET
    response_format: ResponseFormat | Unset = UNSET
    save: bool | Unset = True
    seed: int | None | Unset = UNSET
    steps: int | Unset = 30
    strength: float | Unset = 0.55
    style: None | str | Unset = UNSET
    style_scale: float | Unset = 1.0
    styles: list[StyleWeight] | None | Unset = UNSET
    symmetry: Symmetry | Unset = UNSET
    text: None | str | Unset = UNSET
    text_weight: float | Unset = 0.5
    tile: bool | Unset = False
    top_k: int | Unset = 5

    def to_dict(self) -> dict[str, Any]:
        control_scale: float | None | Unset
        if isinstance(self.control_scale, Unset):
            control_scale = UNSET
        else:
            control_scale = self.control_scale

        dedupe = self.dedupe

        generate = self.generate

        guidance_scale = self.guidance_scale

        image: None | str | Unset
        if isinstance(self.image, Unset):
            image = UNSET
        else:
            image = self.image

        init_source: str | Unset = UNSET
        if not isinstance(self.init_source, Unset):
            init_source = self.init_source.value

        lexical_weight: float | None | Unset
        if isinstance(self.lexical_weight, Unset):
            lexical_weight = UNSET
        else:
            lexical_weight = self.lexical_weight

        motifs: list[int] | None | Unset
        if isinstance(self.motifs, Unset):
            motifs = UNSET
        elif isinstance(self.motifs, list):
            motifs = self.motifs

        else:
            motifs = self.motifs

        negative_prompt: None | str | Unset
        if isinstance(self.negative_prompt, Unset):
            negative_prompt = UNSET
        else:
            negative_prompt = self.negative_prompt

        preview = self.preview

        preview_repeat = self.preview_repeat

        repeat: str | Unset = UNSET
        if not isinstance(self.repeat, Unset):
            repeat = self.repeat.value

        response_format: str | Unset = UNSET
        if not isinstance(self.response_format, Unset):
            response_format = self.response_format.value

        save = self.save

        seed: int | None | Unset
        if isinstance(self.seed, Unset):
            seed = UNSET
        else:
            seed = self.seed

        steps = self.steps

        strength = self.strength

        style: None | str | Unset
        if isinstance(self.style, Unset):
            style = UNSET
        else:
            style = self.style

        style_scale = self.style_scale

        styles: list[dict[str, Any]] | None | Unset
        if isinstance(self.styles, Unset):
            styles = UNSET
        elif isinstance(self.styles, list):
            styles = []
            for styles_type_0_item_data in self.styles:
                styles_type_0_item = styles_type_0_item_data.to_dict()
                styles.append(styles_type_0_item)

        else:
            styles = self.styles

        symmetry: str | Unset = UNSET
        if not isinstance(self.symmetry, Unset):
            symmetry = self.symmetry.value

        text: None | str | Unset
        if isinstance(self.text, Unset):
            text = UNSET
        else:
            text = self.text

        text_weight = self.text_weight

        tile = self.tile

        top_k = self.top_k

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if control_scale is not UNSET:
            field_dict["control_scale"] = control_scale
        if dedupe is not UNSET:
            field_dict["dedupe"] = dedupe
        if generate is not UNSET:
            field_dict["generate"] = generate
        if guidance_scale is not UNSET:
            field_dict["guidance_scale"] = guidance_scale
        if image is not UNSET:
            field_dict["image"] = image
        if init_source is not UNSET:
            field_dict["init_source"] = init_source
        if lexical_weight is not UNSET:
            field_dict["lexical_weight"] = lexical_weight
        if motifs is not UNSET:
            field_dict["motifs"] = motifs
        if negative_prompt is not UNSET:
            field_dict["negative_prompt"] = negative_prompt
        if preview is not UNSET:
            field_dict["preview"] = preview
        if preview_repeat is not UNSET:
            field_dict["preview_repeat"] = preview_repeat
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
        if style is not UNSET:
            field_dict["style"] = style
        if style_scale is not UNSET:
            field_dict["style_scale"] = style_scale
        if styles is not UNSET:
            field_dict["styles"] = styles
        if symmetry is not UNSET:
            field_dict["symmetry"] = symmetry
        if text is not UNSET:
            field_dict["text"] = text
        if text_weight is not UNSET:
            field_dict["text_weight"] = text_weight
        if tile is not UNSET:
            field_dict["tile"] = tile
        if top_k is not UNSET:
            field_dict["top_k"] = top_k

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.style_weight import StyleWeight  # noqa: PLC0415

        d = dict(src_dict)

        def _parse_control_scale(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        control_scale = _parse_control_scale(d.pop("control_scale", UNSET))

        dedupe = d.pop("dedupe", UNSET)

        generate = d.pop("generate", UNSET)

        guidance_scale = d.pop("guidance_scale", UNSET)

        def _parse_image(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        image = _parse_image(d.pop("image", UNSET))

        _init_source = d.pop("init_source", UNSET)
        init_source: InitSource | Unset
        if isinstance(_init_source, Unset):
            init_source = UNSET
        else:
            init_source = InitSource(_init_source)

        def _parse_lexical_weight(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        lexical_weight = _parse_lexical_weight(d.pop("lexical_weight", UNSET))

        def _parse_motifs(data: object) -> list[int] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                motifs_type_0 = cast(list[int], data)

                return motifs_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[int] | None | Unset, data)

        motifs = _parse_motifs(d.pop("motifs", UNSET))

        def _parse_negative_prompt(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        negative_prompt = _parse_negative_prompt(d.pop("negative_prompt", UNSET))

        preview = d.pop("preview", UNSET)

        preview_repeat = d.pop("preview_repeat", UNSET)

        _repeat = d.pop("repeat", UNSET)
        repeat: SeamlessRepeat | Unset
        if isinstance(_repeat, Unset):
            repeat = UNSET
        else:
            repeat = SeamlessRepeat(_repeat)

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

        steps = d.pop("steps", UNSET)

        strength = d.pop("strength", UNSET)

        def _parse_style(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        style = _parse_style(d.pop("style", UNSET))

        style_scale = d.pop("style_scale", UNSET)

        def _parse_styles(data: object) -> list[StyleWeight] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                styles_type_0 = []
                _styles_type_0 = data
                for styles_type_0_item_data in _styles_type_0:
                    styles_type_0_item = StyleWeight.from_dict(styles_type_0_item_data)

                    styles_type_0.append(styles_type_0_item)

                return styles_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[StyleWeight] | None | Unset, data)

        styles = _parse_styles(d.pop("styles", UNSET))

        _symmetry = d.pop("symmetry", UNSET)
        symmetry: Symmetry | Unset
        if isinstance(_symmetry, Unset):
            symmetry = UNSET
        else:
            symmetry = Symmetry(_symmetry)

        def _parse_text(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        text = _parse_text(d.pop("text", UNSET))

        text_weight = d.pop("text_weight", UNSET)

        tile = d.pop("tile", UNSET)

        top_k = d.pop("top_k", UNSET)

        rag_request = cls(
            control_scale=control_scale,
            dedupe=dedupe,
            generate=generate,
            guidance_scale=guidance_scale,
            image=image,
            init_source=init_source,
            lexical_weight=lexical_weight,
            motifs=motifs,
            negative_prompt=negative_prompt,
            preview=preview,
            preview_repeat=preview_repeat,
            repeat=repeat,
            response_format=response_format,
            save=save,
            seed=seed,
            steps=steps,
            strength=strength,
            style=style,
            style_scale=style_scale,
            styles=styles,
            symmetry=symmetry,
            text=text,
            text_weight=text_weight,
            tile=tile,
            top_k=top_k,
        )

        return rag_request
