"""The Batik Nitik 960 layout: image file names and the metadata workbook.

Files are named `<No> <Motif> <instance>[_rotate_<deg>].jpg`; the motif spelling in file names differs
from the workbook's for a dozen motifs, so the leading number is the key. The workbook has one row per
motif plus page-break continuation rows (no number, no name) whose text belongs to the motif above, and
each description holds the Indonesian text followed by the English one in one cell.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path

from services.common.text import sentences

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp"}
_FILE_NAME = re.compile(
    r"^(?P<number>\d+)\s+(?P<name>.+?)\s+(?P<instance>\d+)(?:_rotate_(?P<rotation>\d+))?$"
)

# Function words that tell the two languages of a description apart, one paragraph at a time.
_INDONESIAN_WORDS = set(
    [
        "yang",
        "dan",
        "dalam",
        "adalah",
        "ini",
        "itu",
        "dengan",
        "untuk",
        "atau",
        "dari",
        "di",
        "ke",
        "tidak",
        "bahwa",
        "sebagai",
        "juga",
        "memiliki",
        "artinya",
        "berarti",
        "bagi",
        "pada",
        "oleh",
        "agar",
        "karena",
        "akan",
        "dapat",
        "sebuah",
        "makna",
        "merupakan",
        "mempunyai",
    ]
)
_ENGLISH_WORDS = set(
    [
        "the",
        "and",
        "of",
        "is",
        "in",
        "to",
        "a",
        "that",
        "this",
        "which",
        "with",
        "for",
        "as",
        "are",
        "was",
        "were",
        "it",
        "its",
        "be",
        "by",
        "an",
        "from",
        "means",
        "meaning",
        "symbol",
        "has",
        "have",
    ]
)
_MEANING_CUES = re.compile(
    r"\b(mean|means|meaning|symbol|symboli[sz]es?|philosoph\w*|hope|message|represents?)\b", re.I
)


@dataclass(frozen=True)
class ImageRecord:
    path: Path
    number: int
    file_motif_name: str
    instance: int
    rotation: int

    @property
    def source_photo(self) -> tuple[int, int]:
        """Rotations of one photo share this key: they must stay on one side of any split."""
        return (self.number, self.instance)


@dataclass(frozen=True)
class MotifRecord:
    number: int
    name: str
    description_id: str
    description_en: str
    philosophy: str

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def parse_image_name(path: Path) -> ImageRecord | None:
    """`12 Cakar Ayam 3_rotate_90.jpg` -> its record; None when the name does not fit the layout."""
    match = _FILE_NAME.match(path.stem.strip())
    if not match:
        return None
    return ImageRecord(
        path=path,
        number=int(match["number"]),
        file_motif_name=re.sub(r"\s+", " ", match["name"]),
        instance=int(match["instance"]),
        rotation=int(match["rotation"] or 0),
    )


def _clean(text: str) -> str:
    text = re.sub(r"(\w)-\s+(\w)", r"\1\2", text)  # hyphenation across a line: "men- ciptakan"
    return re.sub(r"\s+", " ", text).strip()


def _language_score(paragraph: str) -> int:
    """Positive for English, negative for Indonesian, zero when a fragment gives no evidence."""
    words = re.findall(r"[a-z]+", paragraph.lower())
    return sum(w in _ENGLISH_WORDS for w in words) - sum(w in _INDONESIAN_WORDS for w in words)


def split_description(text: str) -> tuple[str, str]:
    """One workbook cell -> (Indonesian, English).

    The cell is Indonesian paragraphs, then English ones; page breaks add line breaks inside either.
    The English part starts at the first paragraph with more English than Indonesian function words.
    """
    paragraphs = [p for p in text.replace("\r", "").split("\n") if p.strip()]
    start = next((i for i, p in enumerate(paragraphs) if _language_score(p) > 0), len(paragraphs))
    return _clean(" ".join(paragraphs[:start])), _clean(" ".join(paragraphs[start:]))


def philosophy_of(description_en: str) -> str:
    """The English sentences that speak of meaning, symbol or hope: the motif's philosophy."""
    return " ".join(s for s in sentences(description_en) if _MEANING_CUES.search(s))


def read_metadata(workbook: Path) -> dict[int, MotifRecord]:
    """The workbook's motifs by number, continuation rows joined to the motif above."""
    import openpyxl

    sheet = openpyxl.load_workbook(workbook, read_only=True, data_only=True).worksheets[0]
    rows = sheet.iter_rows(values_only=True)
    header = [str(c or "").strip().lower() for c in next(rows)]
    try:
        col_no, col_name = header.index("no."), header.index("batik nitik motif")
        col_text = header.index("description")
    except ValueError:
        raise ValueError(
            f"{workbook.name}: expected the columns 'No.', 'Batik Nitik Motif', 'Description'; "
            f"found {header}"
        ) from None
    raw: dict[int, dict[str, str]] = {}
    current: int | None = None
    for row in rows:
        number, name, text = row[col_no], row[col_name], row[col_text]
        if number is None and name is None:
            if text and current is not None:
                raw[current]["text"] += "\n" + str(text)
            continue
        current = int(number)
        raw[current] = {"name": str(name or "").strip(), "text": str(text or "")}
    motifs = {}
    for number, entry in raw.items():
        indonesian, english = split_description(entry["text"])
        motifs[number] = MotifRecord(
            number=number,
            name=_clean(entry["name"]),
            description_id=indonesian,
            description_en=english,
            philosophy=philosophy_of(english),
        )
    return motifs


def list_image_files(images_dir: Path) -> list[Path]:
    return sorted(p for p in images_dir.iterdir() if p.is_file() and not p.name.startswith("."))
