from pathlib import Path

import pytest

from services.retrieval.dataset import (
    parse_image_name,
    philosophy_of,
    read_metadata,
    split_description,
)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("1 Sekar Kemuning 1.jpg", (1, "Sekar Kemuning", 1, 0)),
        ("12 Cakar Ayam 3_rotate_90.jpg", (12, "Cakar Ayam", 3, 90)),
        ("31 Krawitan  2.jpg", (31, "Krawitan", 2, 0)),  # the real dataset's double spaces
        ("54 Sari Mulat 4_rotate_270.jpg", (54, "Sari Mulat", 4, 270)),
    ],
)
def test_parse_image_name(name, expected):
    record = parse_image_name(Path(name))
    assert record is not None
    assert (record.number, record.file_motif_name, record.instance, record.rotation) == expected
    assert record.source_photo == (expected[0], expected[2])


@pytest.mark.parametrize("name", ["Sekar Kemuning.jpg", "notes.jpg", "12 Cakar Ayam.jpg"])
def test_parse_image_name_rejects_other_layouts(name):
    assert parse_image_name(Path(name)) is None


def test_split_description_keeps_page_breaks_inside_each_language():
    cell = (
        "Motif ini adalah simbol yang berarti\nkeseimbangan dalam hidup.\n"
        "This motif is a symbol of the balance\nin life. It means harmony."
    )
    indonesian, english = split_description(cell)
    assert indonesian == "Motif ini adalah simbol yang berarti keseimbangan dalam hidup."
    assert english == "This motif is a symbol of the balance in life. It means harmony."
    assert philosophy_of(english) == english


def test_shared_workbook_parses_all_sixty_motifs(shared_sample):
    _, workbook = shared_sample
    motifs = read_metadata(workbook)
    assert sorted(motifs) == list(range(1, 61))
    # Continuation rows belong to the motif above: Brendi's English is entirely on the next row.
    assert "trade symbol" in motifs[11].description_en
    assert motifs[11].description_id.startswith("Brendi adalah nama minuman")
    # No. 14 has Indonesian only in the workbook.
    assert motifs[14].description_en == ""
    assert motifs[14].description_id.startswith("Sekar tebu")
    for number, motif in motifs.items():
        if number != 14:
            assert motif.description_en, number
            assert " yang " not in motif.description_en, number
    assert "meaning" in motifs[16].philosophy


def test_synthetic_sample_round_trips(synthetic_dataset):
    images, workbook = synthetic_dataset
    motifs = read_metadata(workbook)
    assert len(motifs) == 6
    assert "four circles" in motifs[3].description_en  # the continuation row
    files = sorted(images.iterdir())
    assert len(files) == 6 * 2 * 4
    assert all(parse_image_name(f).number in motifs for f in files)
