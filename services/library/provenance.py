"""A design's settings inside its PNG, both ways.

Two text chunks go into every stored PNG:

- `parameters` (tEXt, iTXt when not Latin-1): AUTOMATIC1111's "PNG Info" format, which A1111, Forge,
  SD.Next, InvokeAI's importer and many viewers read:

      <prompt>
      Negative prompt: <negative prompt>
      Steps: 30, Sampler: Euler a, CFG scale: 7.5, Seed: 7, Size: 512x512, Denoising strength: 0.55, Model: sd15

- `batik` (compressed iTXt): the full provenance as JSON.

Chunks are spliced into the byte stream, so the pixel data the generator made stays bit-identical and
saving costs no re-encode. Reading walks the chunks itself (tEXt, zTXt, iTXt) with a cap on what a
compressed chunk may inflate to. Nothing here knows HTTP: bad input raises `InvalidInputError`.
"""

from __future__ import annotations

import json
import re
import struct
import zlib
from dataclasses import dataclass
from typing import Any

from services.common.contracts.library import MAX_MOTIF
from services.common.errors import InvalidInputError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PARAMETERS_KEY = "parameters"
BATIK_KEY = "batik"
_TEXT_CHUNKS = (b"tEXt", b"zTXt", b"iTXt")
_MAX_TEXT_BYTES = 4 * 1024 * 1024  # a compressed chunk inflating past this is refused (zip bomb)

# Our scheduler names and A1111's sampler names ("Euler a", "DPM++ 2M", ...).
SAMPLER_NAMES = {
    "ddim": "DDIM",
    "pndm": "PLMS",
    "euler": "Euler",
    "euler_a": "Euler a",
    "dpmpp_2m": "DPM++ 2M",
}
# A1111's own pattern for `key: value` pairs; a value with commas is quoted.
_PARAM = re.compile(r'\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)')


@dataclass(frozen=True)
class PngHeader:
    width: int
    height: int


# ---------------------------------------------------------------------------------------- chunks


def _chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """(type, payload) of every chunk, with CRCs checked; refuses anything but a whole PNG."""
    if not data.startswith(PNG_SIGNATURE):
        raise InvalidInputError("not a PNG file (bad signature)")
    chunks: list[tuple[bytes, bytes]] = []
    offset = len(PNG_SIGNATURE)
    while offset < len(data):
        if offset + 8 > len(data):
            raise InvalidInputError("PNG is truncated (partial chunk header)")
        length, kind = struct.unpack(">I4s", data[offset : offset + 8])
        end = offset + 8 + length + 4
        if end > len(data):
            raise InvalidInputError("PNG is truncated (chunk runs past the end)")
        payload = data[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", data[end - 4 : end])
        if zlib.crc32(kind + payload) != crc:
            raise InvalidInputError(f"PNG is corrupt (bad CRC in a {kind.decode('latin-1')} chunk)")
        chunks.append((kind, payload))
        offset = end
        if kind == b"IEND":
            break
    if not chunks or chunks[0][0] != b"IHDR" or chunks[-1][0] != b"IEND":
        raise InvalidInputError("PNG is incomplete (needs IHDR first and IEND last)")
    return chunks


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return (
        struct.pack(">I", len(payload))
        + kind
        + payload
        + struct.pack(">I", zlib.crc32(kind + payload))
    )


def read_header(data: bytes) -> PngHeader:
    width, height = struct.unpack(">II", _chunks(data)[0][1][:8])
    if width < 1 or height < 1:
        raise InvalidInputError("PNG has no pixels")
    return PngHeader(width, height)


def _inflate(payload: bytes) -> bytes:
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(payload, _MAX_TEXT_BYTES)
    except zlib.error as exc:
        raise InvalidInputError(f"PNG text chunk does not decompress: {exc}") from None
    if inflater.unconsumed_tail:
        raise InvalidInputError(f"PNG text chunk inflates past {_MAX_TEXT_BYTES} bytes")
    return out


def _decode_text(kind: bytes, payload: bytes) -> tuple[str, str] | None:
    key, sep, rest = payload.partition(b"\0")
    if not sep:
        return None
    name = key.decode("latin-1")
    if kind == b"tEXt":
        return name, rest.decode("latin-1")
    if kind == b"zTXt":
        return name, _inflate(rest[1:]).decode("latin-1")
    # iTXt: compression flag, method, language tag \0, translated keyword \0, text (UTF-8)
    if len(rest) < 2:
        return None
    compressed, body = rest[0], rest[2:]
    _lang, _, body = body.partition(b"\0")
    _translated, _, text = body.partition(b"\0")
    raw = _inflate(text) if compressed else text
    return name, raw.decode("utf-8", errors="replace")


def read_text_chunks(data: bytes) -> dict[str, str]:
    """Every tEXt / zTXt / iTXt chunk as {keyword: text}; the first of a repeated keyword wins."""
    texts: dict[str, str] = {}
    for kind, payload in _chunks(data):
        if kind in _TEXT_CHUNKS and (decoded := _decode_text(kind, payload)):
            texts.setdefault(*decoded)
    return texts


def _text_chunk(key: str, text: str, *, compress: bool) -> bytes:
    keyword = key.encode("latin-1")
    if not compress:
        try:
            return _chunk(b"tEXt", keyword + b"\0" + text.encode("latin-1"))
        except UnicodeEncodeError:
            pass  # not Latin-1: iTXt carries UTF-8 (as Pillow and A1111 do)
    body = text.encode("utf-8")
    flag = b"\x01\x00" if compress else b"\x00\x00"
    body = zlib.compress(body, 6) if compress else body
    return _chunk(b"iTXt", keyword + b"\0" + flag + b"\0\0" + body)


def embed_settings(png: bytes, provenance: dict[str, Any], size: PngHeader) -> bytes:
    """The PNG with our `parameters` and `batik` chunks (replacing any of the same names) after IHDR."""
    ours = {PARAMETERS_KEY, BATIK_KEY}
    kept = [
        (kind, payload)
        for kind, payload in _chunks(png)
        if not (kind in _TEXT_CHUNKS and payload.partition(b"\0")[0].decode("latin-1") in ours)
    ]
    inserted = _text_chunk(PARAMETERS_KEY, format_parameters(provenance, size), compress=False)
    inserted += _text_chunk(
        BATIK_KEY, json.dumps(provenance, ensure_ascii=False, sort_keys=True), compress=True
    )
    body = b"".join(_chunk(kind, payload) for kind, payload in kept[1:])
    return PNG_SIGNATURE + _chunk(*kept[0]) + inserted + body


# ---------------------------------------------------------------------------- A1111 parameters


def _field(provenance: dict[str, Any], key: str) -> Any:
    """A setting as it ran (top level), else as it was asked for (the request)."""
    value = provenance.get(key)
    if value is None:
        value = (provenance.get("request") or {}).get(key)
    return value


def prompt_text(provenance: dict[str, Any]) -> str:
    prompt = provenance.get("prompt")
    if isinstance(prompt, dict):
        prompt = prompt.get("text")
    if not isinstance(prompt, str) or not prompt:
        prompt = (provenance.get("request") or {}).get("text") or ""
    return str(prompt)


def motif_numbers(provenance: dict[str, Any]) -> list[int]:
    """Motif numbers of the references, in first-seen order."""
    numbers: dict[int, None] = {}
    for reference in provenance.get("references") or []:
        if not isinstance(reference, dict):
            continue
        motif = reference.get("motif")
        number = motif.get("number") if isinstance(motif, dict) else reference.get("motif_number")
        # Another number is none of a dataset's motifs (and past the design_motifs column).
        if isinstance(number, int) and not isinstance(number, bool) and 0 <= number <= MAX_MOTIF:
            numbers[number] = None
    return list(numbers)


def _quote(value: str) -> str:
    return json.dumps(value) if ("," in value or ":" in value or '"' in value) else value


def format_parameters(provenance: dict[str, Any], size: PngHeader) -> str:
    """AUTOMATIC1111's `parameters` text for a design."""
    lines = [prompt_text(provenance).replace("\n", " ")]
    negative = _field(provenance, "negative_prompt")
    if negative:
        lines.append(f"Negative prompt: {str(negative).replace(chr(10), ' ')}")
    pairs: list[tuple[str, Any]] = [
        ("Steps", _field(provenance, "steps")),
        ("Sampler", SAMPLER_NAMES.get(str(_field(provenance, "scheduler")))),
        ("CFG scale", _field(provenance, "guidance_scale")),
        ("Seed", _field(provenance, "seed")),
        ("Size", f"{size.width}x{size.height}"),
    ]
    if provenance.get("mode") != "txt2img":
        pairs.append(("Denoising strength", _field(provenance, "strength")))
    versions = provenance.get("versions") or {}
    pairs.append(("Model", versions.get("model")))
    if versions.get("adapter"):
        pairs.append(("Captioning adapter", versions["adapter"]))
    if _field(provenance, "tile"):
        pairs.append(("Tiling", "True"))
        repeat = _field(provenance, "repeat")
        if repeat and repeat != "full":
            pairs.append(("Repeat", repeat))
    symmetry = _field(provenance, "symmetry")
    if symmetry and symmetry != "none":
        pairs.append(("Symmetry", symmetry))
    if _field(provenance, "control_scale") is not None:
        pairs.append(("ControlNet scale", _field(provenance, "control_scale")))
    pairs.append(("Version", "batik-nitik-rag"))
    lines.append(", ".join(f"{k}: {_quote(str(v))}" for k, v in pairs if v is not None))
    return "\n".join(lines)


def parse_parameters(text: str) -> dict[str, Any]:
    """A1111's `parameters` text to {prompt, negative_prompt, settings: {key: value}} (as A1111 does:
    the last line holds the settings when it has at least three `key: value` pairs)."""
    lines = text.strip().split("\n")
    settings: dict[str, str] = {}
    if lines and len(_PARAM.findall(lines[-1])) >= 3:
        for key, value in _PARAM.findall(lines.pop()):
            value = value.strip()
            if value.startswith('"') and value.endswith('"'):
                try:
                    value = json.loads(value)
                except json.JSONDecodeError:
                    value = value[1:-1]
            settings[key.strip()] = value
    prompt, negative, in_negative = [], [], False
    for line in lines:
        if line.startswith("Negative prompt:"):
            in_negative = True
            line = line[len("Negative prompt:") :].strip()
        (negative if in_negative else prompt).append(line)
    return {
        "prompt": "\n".join(prompt).strip(),
        "negative_prompt": "\n".join(negative).strip() or None,
        "settings": settings,
    }


def _number(value: str | None, kind: type) -> Any:
    if value is None:
        return None
    try:
        return kind(float(value)) if kind is int else kind(value)
    except ValueError:
        return None


def request_from_parameters(parsed: dict[str, Any]) -> dict[str, Any]:
    """The RAG request fields that recall an A1111 `parameters` text (unknown keys are ignored)."""
    settings = parsed["settings"]
    request: dict[str, Any] = {"text": parsed["prompt"] or None}
    if parsed["negative_prompt"]:
        request["negative_prompt"] = parsed["negative_prompt"]
    request["steps"] = _number(settings.get("Steps"), int)
    request["guidance_scale"] = _number(settings.get("CFG scale"), float)
    request["seed"] = _number(settings.get("Seed"), int)
    strength = _number(settings.get("Denoising strength"), float)
    if strength is not None:
        request["strength"] = strength
    elif settings:
        request["init_source"] = "none"  # settings without a denoising strength: a txt2img
    if str(settings.get("Tiling", "")).lower() == "true":
        request["tile"] = True
        if settings.get("Repeat"):
            request["repeat"] = settings["Repeat"]
    if settings.get("Symmetry"):
        request["symmetry"] = settings["Symmetry"]
    if settings.get("ControlNet scale"):
        request["control_scale"] = _number(settings["ControlNet scale"], float)
    return {key: value for key, value in request.items() if value is not None}


def request_from_provenance(provenance: dict[str, Any]) -> dict[str, Any]:
    """The request a design was made with, with the seed it actually ran with."""
    request = dict(provenance.get("request") or {})
    request.pop("image", None)
    if provenance.get("seed") is not None:
        request["seed"] = provenance["seed"]
    if not request.get("text") and prompt_text(provenance):
        request["text"] = prompt_text(provenance)
    return request


def _valid_request(fields: dict[str, Any]) -> dict[str, Any]:
    """Fields the RAG request accepts: a value it refuses (steps over its cap, an unknown symmetry)
    is dropped, so the rest still recalls the design; an over-long prompt is cut to the cap."""
    from pydantic import ValidationError

    from services.common.contracts.gateway import RagRequest

    fields = dict(fields)
    if isinstance(fields.get("text"), str):
        fields["text"] = fields["text"][:1000]
    for _ in range(len(fields) + 1):
        try:
            RagRequest.model_validate({**fields, "text": fields.get("text") or "x"}, strict=False)
            return fields
        except ValidationError as exc:
            bad = {str(err["loc"][0]) for err in exc.errors() if err["loc"]}
            if not bad & fields.keys():
                # A rule across fields (no denoising step at this strength): drop the strength.
                bad = {"strength"} if "strength" in fields else set(fields) - {"text"}
            for key in bad:
                fields.pop(key, None)
    return fields


def recall_request(png: bytes) -> tuple[dict[str, Any], str]:
    """(RAG request, source) from a PNG's settings: our `batik` chunk first, else `parameters`."""
    texts = read_text_chunks(png)
    if BATIK_KEY in texts:
        try:
            provenance = json.loads(texts[BATIK_KEY])
        except json.JSONDecodeError:
            provenance = None
        if isinstance(provenance, dict):
            return _valid_request(request_from_provenance(provenance)), "batik"
    if texts.get(PARAMETERS_KEY, "").strip():
        return _valid_request(request_from_parameters(parse_parameters(texts[PARAMETERS_KEY]))), (
            "parameters"
        )
    raise InvalidInputError(
        "this PNG carries no generation settings (no `batik` or `parameters` text chunk)"
    )
