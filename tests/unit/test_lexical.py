"""Lexical channel: spelling folding and BM25 over the motif metadata."""

import pytest

from services.retrieval.lexical import LexicalIndex, fold, has_words, tokens

# The 12 motifs whose file names spell them differently from the workbook: (No., workbook, file).
DIFFERING_NAMES = [
    (2, "Ceplok Liring", "Sekar Liring"),
    (7, "Sekar Srigading", "Sekar Srigadhing"),
    (11, "Brendi", "Brendhi"),
    (16, "Sekar Randu", "Sekar Randhu"),
    (18, "Sekar Duku", "Sekar Dhuku"),
    (28, "Sekar Kentang", "Sekar Kenthang"),
    (29, "Sekar Pudak", "Sekar Pudhak"),
    (31, "Karawitan", "Krawitan"),
    (33, "Sekar Mlati", "Sekar Mlathi"),
    (40, "Sekar Mundu", "Sekar Mundhu"),
    (41, "Sekar Andong", "Sekar Andhong"),
    (54, "Sarimulat", "Sari Mulat"),
]
# Names that share words with the ones above, so a match must be on the distinctive word.
OTHER_NAMES = [
    (1, "Sekar Kemuning", "Sekar Kemuning"),
    (22, "Sekar Tanjung", "Sekar Tanjung"),
    (50, "Tanjung Gunung", "Tanjung Gunung"),
    (27, "Kawung Nitik", "Kawung Nitik"),
    (6, "Arumdalu", "Arumdalu"),
]


def _motifs(rows):
    return {
        number: {
            "name": name,
            "description_id": f"Motif {name} dengan titik-titik.",
            "description_en": f"The {name} motif drawn in dots.",
        }
        for number, name, _ in rows
    }


@pytest.fixture(scope="module")
def with_file_names():
    rows = DIFFERING_NAMES + OTHER_NAMES
    return LexicalIndex(_motifs(rows), {n: {spelled} for n, _, spelled in rows})


@pytest.fixture(scope="module")
def workbook_only():
    """No file-name spellings at all: only folding can make the Javanese spellings match."""
    return LexicalIndex(_motifs(DIFFERING_NAMES + OTHER_NAMES), {})


def _top(index, query):
    ranking = index.rank(query)
    assert ranking.numbers, f"{query!r} matched nothing"
    # First, and alone at rank 1 (a tie would leave the choice to the visual channel).
    assert ranking.ranks.count(1) == 1, (query, ranking)
    return ranking.numbers[0]


def test_folding_strips_accents_case_punctuation_and_javanese_digraphs():
    assert fold("Sékar  SRIGADHING!") == "sekar srigading"
    assert fold("Kenthang, Pudhak; Mlathi") == "kentang pudak mlati"
    assert fold("Djokdja Tjirebon Soerakarta") == "jokja cirebon surakarta"
    assert fold("Kanthil-Gedhangan") == "kantil gedangan"
    assert fold("Sekar Srigading") == fold("Sekar Srigadhing")


@pytest.mark.parametrize(("number", "workbook", "file_name"), DIFFERING_NAMES)
def test_both_spellings_of_each_differing_name_find_their_motif(
    with_file_names, number, workbook, file_name
):
    assert _top(with_file_names, workbook) == number
    assert _top(with_file_names, file_name) == number
    assert _top(with_file_names, file_name.upper()) == number


@pytest.mark.parametrize(
    ("number", "workbook", "file_name"),
    [row for row in DIFFERING_NAMES if row[0] not in (2, 31)],
)
def test_folding_alone_matches_the_javanese_spellings(workbook_only, number, workbook, file_name):
    # 2 (Ceplok/Sekar Liring) and 31 (Karawitan/Krawitan) are different words, not spellings:
    # only the file-name spellings in the index can match them (the test above).
    assert _top(workbook_only, file_name) == number
    assert _top(workbook_only, workbook) == number


@pytest.mark.parametrize(
    ("query", "number"),
    [("Sari Mulat", 54), ("sarimulat", 54), ("Arum Dalu", 6), ("arum-dalu", 6)],
)
def test_joined_and_split_names_meet(workbook_only, query, number):
    assert _top(workbook_only, query) == number


def test_shared_words_do_not_outvote_the_distinctive_one(with_file_names):
    assert _top(with_file_names, "Sekar Tanjung") == 22
    assert _top(with_file_names, "Tanjung Gunung") == 50
    # "sekar" alone matches every name that has it, in either spelling, and nothing else
    ranking = with_file_names.rank("sekar", min_ratio=1e-6)
    with_sekar = {n for n, a, b in DIFFERING_NAMES + OTHER_NAMES if "Sekar" in a + b}
    assert set(ranking.numbers) == with_sekar


def test_min_ratio_keeps_only_confident_matches(with_file_names):
    loose = with_file_names.rank("Sekar Kemuning", min_ratio=1e-6)
    strict = with_file_names.rank("Sekar Kemuning")
    assert loose.numbers[0] == strict.numbers[0] == 1
    assert len(loose.numbers) > len(strict.numbers) == 1
    # every motif searched has a score, matched or not
    assert set(strict.score_of) == set(with_file_names.numbers)
    assert strict.score_of[1] == strict.scores[0] > 0


def test_queries_without_words():
    assert not has_words("?!... ---")
    assert has_words("¿kawung?") and has_words("7")
    assert tokens("?!...") == [] and tokens("the and of batik") == []


def test_descriptions_are_searched_in_both_languages():
    motifs = {
        1: {"name": "Sekar A", "description_id": "bunga melati putih", "description_en": ""},
        2: {"name": "Sekar B", "description_id": "", "description_en": "four circles"},
    }
    index = LexicalIndex(motifs, {})
    assert _top(index, "bunga putih") == 1
    assert _top(index, "circles") == 2
    assert index.rank("zzz").numbers == []


def test_the_shared_sample_names_in_both_spellings_come_first(shared_sample):
    """All 60 motifs of the real workbook and file names, through the index's own loader."""
    from services.retrieval.dataset import list_image_files, read_metadata

    images, workbook = shared_sample
    motifs = {n: m.to_dict() for n, m in read_metadata(workbook).items()}
    index = LexicalIndex.from_index(motifs, (p.name for p in list_image_files(images)))
    assert len(index.numbers) == 60
    for number, spellings in index.names.items():
        for spelled in spellings:
            assert _top(index, spelled) == number, spelled
    assert {n: len(index.names[n]) for n, *_ in DIFFERING_NAMES} == {
        n: 2 for n, *_ in DIFFERING_NAMES
    }
