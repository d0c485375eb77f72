"""Query language detection: Indonesian or English."""

import pytest

from services.retrieval.language import detect_language


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Batik warna coklat bunga", "id"),
        ("motif bunga yang simetris dengan titik-titik putih", "id"),
        ("Bunga berwarna putih dan bertangkai merah", "id"),
        ("brown flowered batik", "en"),
        ("white flowers with red stems on a dark background", "en"),
        ("dotted geometric pattern of four circles", "en"),
    ],
)
def test_fixed_sentences(text, language):
    detected = detect_language(text)
    assert detected is not None and detected.language == language
    assert 0.5 < detected.confidence <= 1.0


def test_text_without_letters_has_no_language():
    assert detect_language("?!... 123") is None
