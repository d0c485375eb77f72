"""`batik data sample`: a synthetic dataset in the Batik Nitik 960 layout, for demos and tests where
the real data is absent. Each motif is a procedural tile of dots (nitik) arranged by its own geometry;
instances vary the palette and dot size, and every instance is saved at 0, 90, 180 and 270 degrees.
"""

from __future__ import annotations

import math
import random
from pathlib import Path

from PIL import Image, ImageDraw

WORKBOOK_NAME = "Batik Nitik Sample Metadata.xlsx"
IMAGES_DIR_NAME = "Images"

# (number, workbook name, file-name spelling, geometry, Indonesian text, English text)
SAMPLE_MOTIFS = [
    (
        1,
        "Sekar Kemuning",
        "Sekar Kemuning",
        "flower",
        "Motif bunga kemuning dari titik-titik yang melambangkan keseimbangan pikiran dan rasa.",
        "A kemuning flower drawn in dots. It symbolizes the balance between thought and feeling.",
    ),
    (
        2,
        "Ceplok Liring",
        "Sekar Liring",
        "diamond",
        "Ceplok liring adalah pola belah ketupat yang mengingatkan agar tidak meremehkan sesuatu.",
        "Ceplok liring is a diamond lattice. Its meaning is a reminder never to take anything "
        "for granted.",
    ),
    (
        3,
        "Kawung Nitik",
        "Kawung Nitik",
        "kawung",
        "Kawung nitik tersusun dari empat lingkaran yang melambangkan kesucian dan keadilan.",
        "Kawung nitik is made of four circles around a centre. It symbolizes purity and justice.",
    ),
    (
        4,
        "Cakar Ayam",
        "Cakar Ayam",
        "cross",
        "Cakar ayam adalah simbol semangat mencari rejeki sejak pagi.",
        "Cakar ayam is a symbol of the spirit of seeking fortune from early morning.",
    ),
    (
        5,
        "Truntum",
        "Truntum",
        "stars",
        "Truntum berarti cinta yang tumbuh kembali, bintang-bintang kecil di langit malam.",
        "Truntum means love that blossoms again, like small stars in the night sky.",
    ),
    (
        6,
        "Brendi",
        "Brendhi",
        "rings",
        "Brendi diambil dari lambang dagang tiga koin berjajar.",
        "Brendi takes its shape from a trade mark of three coins in a row. It is a symbol of "
        "vitality.",
    ),
]

_PALETTES = [
    ((92, 52, 28), (236, 222, 196)),  # sogan brown on cream
    ((28, 36, 80), (230, 226, 214)),  # indigo on off-white
    ((40, 30, 24), (200, 160, 110)),  # dark brown on tan
    ((110, 40, 30), (245, 235, 215)),
]


def _dot_positions(geometry: str, size: int) -> list[tuple[float, float]]:
    """Dot centres for one tile; every geometry is laid out with four-fold symmetry."""
    c = size / 2
    points: list[tuple[float, float]] = []

    def ring(radius: float, count: int, cx: float = c, cy: float = c, phase: float = 0.0):
        for k in range(count):
            angle = phase + 2 * math.pi * k / count
            points.append((cx + radius * math.cos(angle), cy + radius * math.sin(angle)))

    if geometry == "flower":
        for petal in range(8):
            angle = petal * math.pi / 4
            for step in range(1, 6):
                r = step * size / 14
                points.append((c + r * math.cos(angle), c + r * math.sin(angle)))
        ring(size / 10, 12)
    elif geometry == "diamond":
        for offset in range(-size, size, size // 6):
            for t in range(0, size, size // 24):
                points.append((t, t + offset))
                points.append((t, size - t + offset))
    elif geometry == "kawung":
        for dx, dy in ((-1, -1), (1, -1), (-1, 1), (1, 1)):
            ring(size / 7, 16, c + dx * size / 5, c + dy * size / 5)
    elif geometry == "cross":
        for t in range(0, size, size // 20):
            points += [(t, c), (c, t), (t, t), (t, size - t)]
    elif geometry == "stars":
        for gx in range(4):
            for gy in range(4):
                ring(size / 20, 8, (gx + 0.5) * size / 4, (gy + 0.5) * size / 4, math.pi / 8)
    else:  # rings
        for radius in (size / 8, size / 4, 3 * size / 8):
            ring(radius, int(radius / 3) + 8)
    return points


def render_tile(geometry: str, instance: int, size: int = 128) -> Image.Image:
    rng = random.Random(f"{geometry}-{instance}")
    ink, cloth = _PALETTES[(instance - 1) % len(_PALETTES)]
    image = Image.new("RGB", (size, size), cloth)
    draw = ImageDraw.Draw(image)
    radius = size / 90 * (1.5 + instance * 0.4)
    for x, y in _dot_positions(geometry, size):
        jitter = rng.uniform(-0.5, 0.5)
        draw.ellipse((x - radius + jitter, y - radius, x + radius + jitter, y + radius), fill=ink)
    return image


def write_sample_dataset(out: Path, instances: int = 2, size: int = 128) -> tuple[Path, Path]:
    """Write the images and the workbook under `out`; returns (images_dir, workbook_path)."""
    import openpyxl

    out = Path(out)
    images_dir = out / IMAGES_DIR_NAME
    images_dir.mkdir(parents=True, exist_ok=True)
    for number, _name, file_name, geometry, _id, _en in SAMPLE_MOTIFS:
        for instance in range(1, instances + 1):
            tile = render_tile(geometry, instance, size)
            for rotation in (0, 90, 180, 270):
                suffix = f"_rotate_{rotation}" if rotation else ""
                rotated = tile.rotate(-rotation) if rotation else tile
                rotated.save(
                    images_dir / f"{number} {file_name} {instance}{suffix}.jpg", quality=92
                )

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["No.", "Batik Nitik Motif", "Description"])
    for number, name, _file, _geometry, indonesian, english in SAMPLE_MOTIFS:
        if number == 3:  # a page-break continuation row, as the real workbook has
            sheet.append([number, name, indonesian])
            sheet.append([None, None, english])
        else:
            sheet.append([number, name, f"{indonesian}\n{english}"])
    workbook_path = out / WORKBOOK_NAME
    workbook.save(workbook_path)
    return images_dir, workbook_path
