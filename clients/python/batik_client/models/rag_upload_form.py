from __future__ import annotations

from collections.abc import Mapping
from io import BytesIO
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from .. import types
from ..models.init_source import InitSource
from ..models.response_format import ResponseFormat
from ..models.seamless_repeat import SeamlessRepeat
from ..models.symmetry import Symmetry
from ..types import UNSET, File, FileTypes, Unset

T = TypeVar("T", bound="RagUploadForm")


@_attrs_define
class RagUploadForm:
    """The `POST /v1/rag` request as a multipart form, with the image as a file.

    Attributes:
        control_scale (float | Unset): ControlNet on the edges of the control image (default: the init image); omit for
            none. Needs GENERATION_CONTROLNET.
        dedupe (bool | Unset): Keep only the best hit per source photo (motif + instance): the dataset holds four
            rotations of each photo. `false` answers the raw nearest neighbours. Default: True.
        generate (bool | Unset): False stops after retrieval, captioning and fusion. Default: True.
        guidance_scale (float | Unset):  Default: 7.5.
        image (File | Unset): A query image file (PNG, JPEG or WebP).
        init_source (InitSource | Unset): Where img2img starts: the top reference, the query image, or nowhere
            (txt2img).
        lexical_weight (float | Unset): Queries with text: the share of the lexical ranking (BM25 over motif names,
            their spellings and descriptions) in the reciprocal rank fusion with the visual (CLIP) ranking. 0 ranks exactly
            as the visual search alone. Default: the service's `RETRIEVAL_LEXICAL_WEIGHT` (0.5). Ignored for image-only
            queries.
        motifs (str | Unset): Comma-separated motif numbers to search in, e.g. `1,3,12`.
        negative_prompt (str | Unset):
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
        seed (int | Unset): Omit for a random seed; the answer reports it.
        steps (int | Unset): Denoising steps before strength applies: img2img runs int(steps x strength) of them, which
            must be at least 1. Default: 30.
        strength (float | Unset): img2img: how far to depart from the init image (1.0 ignores it). Default: 0.55.
        style (str | Unset): A style by name (GET /v1/styles); omit for none (or the service's default).
        style_scale (float | Unset): Strength of `style`: 0 is none, 1 as trained. Default: 1.0.
        styles (str | Unset): A blend as `name:scale,name:scale` (instead of `style`); a bare name is scale 1.
        symmetry (Symmetry | Unset): The symmetry group a motif grows with (auto: the strongest group the init image
            has).
        text (str | Unset): What the user is looking for.
        text_weight (float | Unset): With both text and image: the text's share of the query vector, which is the
            normalised sum `w * text + (1 - w) * image` of the two unit embeddings. 1 ranks as the text alone, 0 as the
            image alone. Ignored when only one is given. Default: 0.5.
        tile (bool | Unset): Seamless repeat: the tile continues across its own edges. Default: False.
        top_k (int | Unset): References to retrieve. Default: 5.
    """

    control_scale: float | Unset = UNSET
    dedupe: bool | Unset = True
    generate: bool | Unset = True
    guidance_scale: float | Unset = 7.5
    image: File | Unset = UNSET
    init_source: InitSource | Unset = UNSET
    lexical_weight: float | Unset = UNSET
    motifs: str | Unset = UNSET
    negative_prompt: str | Unset = UNSET
    preview: bool | Unset = False
    preview_repeat: bool | Unset = False
    repeat: SeamlessRepeat | Unset = UNSET
    response_format: ResponseFormat | Unset = UNSET
    save: bool | Unset = True
    seed: int | Unset = UNSET
    steps: int | Unset = 30
    strength: float | Unset = 0.55
    style: str | Unset = UNSET
    style_scale: float | Unset = 1.0
    styles: str | Unset = UNSET
    symmetry: Symmetry | Unset = UNSET
    text: str | Unset = UNSET
    text_weight: float | Unset = 0.5
    tile: bool | Unset = False
    top_k: int | Unset = 5
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        control_scale = self.control_scale

        dedupe = self.dedupe

        generate = self.generate

        guidance_scale = self.guidance_scale

        image: FileTypes | Unset = UNSET
        if not isinstance(self.image, Unset):
            image = self.image.to_tuple()

        init_source: str | Unset = UNSET
        if not isinstance(self.init_source, Unset):
            init_source = self.init_source.value

        lexical_weight = self.lexical_weight

        motifs = self.motifs

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

        seed = self.seed

        steps = self.steps

        strength = self.strength

        style = self.style

        style_scale = self.style_scale

        styles = self.styles

        symmetry: str | Unset = UNSET
        if not isinstance(self.symmetry, Unset):
            symmetry = self.symmetry.value

        text = self.text

        text_weight = self.text_weight

        tile = self.tile

        top_k = self.top_k

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
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

    def to_multipart(self) -> types.RequestFiles:
        files: types.RequestFiles = []

        if not isinstance(self.control_scale, Unset):
            files.append(("control_scale", (None, str(self.control_scale).encode(), "text/plain")))

        if not isinstance(self.dedupe, Unset):
            files.append(("dedupe", (None, str(self.dedupe).encode(), "text/plain")))

        if not isinstance(self.generate, Unset):
            files.append(("generate", (None, str(self.generate).encode(), "text/plain")))

        if not isinstance(self.guidance_scale, Unset):
            files.append(("guidance_scale", (None, str(self.guidance_scale).encode(), "text/plain")))

        if not isinstance(self.image, Unset):
            files.append(("image", self.image.to_tuple()))

        if not isinstance(self.init_source, Unset):
            files.append(("init_source", (None, str(self.init_source.value).encode(), "text/plain")))

        if not isinstance(self.lexical_weight, Unset):
            files.append(("lexical_weight", (None, str(self.lexical_weight).encode(), "text/plain")))

        if not isinstance(self.motifs, Unset):
            files.append(("motifs", (None, str(self.motifs).encode(), "text/plain")))

        if not isinstance(self.negative_prompt, Unset):
            files.append(("negative_prompt", (None, str(self.negative_prompt).encode(), "text/plain")))

        if not isinstance(self.preview, Unset):
            files.append(("preview", (None, str(self.preview).encode(), "text/plain")))

        if not isinstance(self.preview_repeat, Unset):
            files.append(("preview_repeat", (None, str(self.preview_repeat).encode(), "text/plain")))

        if not isinstance(self.repeat, Unset):
            files.append(("repeat", (None, str(self.repeat.value).encode(), "text/plain")))

        if not isinstance(self.response_format, Unset):
            files.append(("response_format", (None, str(self.response_format.value).encode(), "text/plain")))

        if not isinstance(self.save, Unset):
            files.append(("save", (None, str(self.save).encode(), "text/plain")))

        if not isinstance(self.seed, Unset):
            files.append(("seed", (None, str(self.seed).encode(), "text/plain")))

        if not isinstance(self.steps, Unset):
            files.append(("steps", (None, str(self.steps).encode(), "text/plain")))

        if not isinstance(self.strength, Unset):
            files.append(("strength", (None, str(self.strength).encode(), "text/plain")))

        if not isinstance(self.style, Unset):
            files.append(("style", (None, str(self.style).encode(), "text/plain")))

        if not isinstance(self.style_scale, Unset):
            files.append(("style_scale", (None, str(self.style_scale).encode(), "text/plain")))

        if not isinstance(self.styles, Unset):
            files.append(("styles", (None, str(self.styles).encode(), "text/plain")))

        if not isinstance(self.symmetry, Unset):
            files.append(("symmetry", (None, str(self.symmetry.value).encode(), "text/plain")))

        if not isinstance(self.text, Unset):
            files.append(("text", (None, str(self.text).encode(), "text/plain")))

        if not isinstance(self.text_weight, Unset):
            files.append(("text_weight", (None, str(self.text_weight).encode(), "text/plain")))

        if not isinstance(self.tile, Unset):
            files.append(("tile", (None, str(self.tile).encode(), "text/plain")))

        if not isinstance(self.top_k, Unset):
            files.append(("top_k", (None, str(self.top_k).encode(), "text/plain")))

        for prop_name, prop in self.additional_properties.items():
            files.append((prop_name, (None, str(prop).encode(), "text/plain")))

        return files

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        control_scale = d.pop("control_scale", UNSET)

        dedupe = d.pop("dedupe", UNSET)

        generate = d.pop("generate", UNSET)

        guidance_scale = d.pop("guidance_scale", UNSET)

        _image = d.pop("image", UNSET)
        image: File | Unset
        if isinstance(_image, Unset):
            image = UNSET
        else:
            image = File(payload=BytesIO(_image))

        _init_source = d.pop("init_source", UNSET)
        init_source: InitSource | Unset
        if isinstance(_init_source, Unset):
            init_source = UNSET
        else:
            init_source = InitSource(_init_source)

        lexical_weight = d.pop("lexical_weight", UNSET)

        motifs = d.pop("motifs", UNSET)

        negative_prompt = d.pop("negative_prompt", UNSET)

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

        seed = d.pop("seed", UNSET)

        steps = d.pop("steps", UNSET)

        strength = d.pop("strength", UNSET)

        style = d.pop("style", UNSET)

        style_scale = d.pop("style_scale", UNSET)

        styles = d.pop("styles", UNSET)

        _symmetry = d.pop("symmetry", UNSET)
        symmetry: Symmetry | Unset
        if isinstance(_symmetry, Unset):
            symmetry = UNSET
        else:
            symmetry = Symmetry(_symmetry)

        text = d.pop("text", UNSET)

        text_weight = d.pop("text_weight", UNSET)

        tile = d.pop("tile", UNSET)

        top_k = d.pop("top_k", UNSET)

        rag_upload_form = cls(
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

        rag_upload_form.additional_properties = d
        return rag_upload_form

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
