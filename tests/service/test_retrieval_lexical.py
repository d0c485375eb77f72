"""Lexical + visual fusion through the service, on the shared sample indexed with the tiny random
CLIP: the visual channel is noise there, so motif names must be carried by the lexical channel."""

import numpy as np
import pytest
from fastapi.testclient import TestClient

from services.retrieval.lexical import fold
from tests.conftest import wait_ready
from tests.helpers import assert_envelope, b64


@pytest.fixture(scope="module")
def client(tiny_models, shared_index):
    from services.retrieval.app import create_app
    from services.retrieval.config import RetrievalSettings

    settings = RetrievalSettings(model=str(tiny_models["clip"]), index_dir=str(shared_index))
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        wait_ready(client)
        yield client


def _search(client, **body):
    answer = client.post("/v1/search", json=body)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _names(client):
    """(number, spelling) for every motif in the workbook's and in the file names' spelling."""
    lexical = client.app.state.engine.served.current.lexical
    return [(n, spelled) for n, spellings in lexical.names.items() for spelled in spellings]


def test_every_motif_name_in_every_spelling_comes_first(client):
    names = _names(client)
    assert len(names) == 60 + 12
    misses = []
    for number, name in names:
        body = _search(client, text=name, top_k=5)
        if body["hits"][0]["motif"]["number"] != number:
            misses.append(name)
    assert misses == []


def test_visual_alone_does_not_find_the_names(client):
    """The point of the lexical channel: the tiny random CLIP gets names about 1 in 60 right."""
    names = _names(client)
    right = sum(
        _search(client, text=name, lexical_weight=0)["hits"][0]["motif"]["number"] == number
        for number, name in names
    )
    assert right < len(names) / 4


def test_each_hit_reports_both_channels(client):
    body = _search(client, text="Sekar Srigadhing", top_k=5)
    assert body["query"]["fusion"] == "rrf" and body["query"]["lexical_weight"] == 0.5
    top = body["hits"][0]
    assert top["motif"]["name"] == "Sekar Srigading"
    assert top["lexical"]["rank"] == 1 and top["lexical"]["score"] > 0
    assert top["visual"]["score"] == top["score"]
    fused = [h["fused_score"] for h in body["hits"]]
    assert fused == sorted(fused, reverse=True)
    expected = 0.5 / (1 + 1) + (
        0.5 / (60 + top["visual"]["rank"]) if top["visual"]["rank"] is not None else 0.0
    )
    assert top["fused_score"] == pytest.approx(expected)
    # which part of the motif matched: its name (and the lexical score is 2 x names + descriptions)
    assert top["lexical"]["names"] > 0
    assert top["lexical"]["score"] == pytest.approx(
        2 * top["lexical"]["names"] + top["lexical"]["descriptions"], rel=1e-5
    )
    # the other hits matched no name: no lexical rank, their order is the visual one
    rest = body["hits"][1:]
    assert all(h["lexical"]["rank"] is None for h in rest)
    visual_ranks = [h["visual"]["rank"] for h in rest]
    assert visual_ranks == sorted(visual_ranks)


def test_lexical_weight_zero_is_exactly_the_visual_ranking(client, tiny_models):
    from services.retrieval.dedupe import best_per_source_photo
    from services.retrieval.encoder import ClipEncoder

    engine = client.app.state.engine
    stored = engine.index.index.reconstruct_n(0, engine.index.size)
    clip = ClipEncoder(str(tiny_models["clip"]))
    for text in ("Sekar Srigadhing", "bunga putih yang harum", "four circles"):
        body = _search(client, text=text, top_k=10, lexical_weight=0)
        scores = stored @ clip.embed_texts([text])[0]
        order = np.argsort(-scores, kind="stable")
        expected = best_per_source_photo(
            [(int(i), float(scores[i])) for i in order], engine.index.items, 10
        )
        assert [h["id"] for h in body["hits"]] == [row for row, _ in expected]
        # FAISS and NumPy sum the d float32 products of a dot product in different orders (SIMD
        # lanes, BLAS blocking). For unit vectors each sum is within d * 2**-24 of the exact value
        # (sum |x_i y_i| <= 1), so the two differ by at most d * float32 eps: an absolute bound, as
        # cosines near 0 make any relative one meaningless (1e-6 relative failed by 1.4e-6 under load).
        float32_sums = stored.shape[1] * float(np.finfo(np.float32).eps)
        assert [h["score"] for h in body["hits"]] == pytest.approx(
            [s for _, s in expected], rel=0, abs=float32_sums
        )
        assert body["query"]["fusion"] == "visual"
        assert all(h["lexical"] is None and h["fused_score"] is None for h in body["hits"])
        assert [h["visual"]["rank"] for h in body["hits"]] == list(range(1, 11))


def test_filters_and_raw_rows_go_through_the_fusion(client):
    # the name's motif is filtered out: the lexical channel may not bring it back
    body = _search(client, text="Sekar Srigadhing", motifs=[1, 2, 3])
    assert {h["motif"]["number"] for h in body["hits"]} <= {1, 2, 3}
    # without dedupe the four rotations of the one photo come first
    body = _search(client, text="Brendhi", top_k=6, dedupe=False)
    assert [h["motif"]["number"] for h in body["hits"][:4]] == [11] * 4
    assert sorted(h["rotation"] for h in body["hits"][:4]) == [0, 90, 180, 270]


def test_image_queries_are_unchanged_and_hybrid_fuses(client, shared_sample):
    images, _ = shared_sample
    raw = b64((images / "27 Kawung Nitik 1_rotate_90.jpg").read_bytes())
    body = _search(client, image=raw, lexical_weight=1)
    assert body["query"]["fusion"] == "visual" and body["query"]["language"] is None
    assert body["hits"][0]["score"] == pytest.approx(1.0, abs=1e-3)
    # hybrid: the CLIP vector of text + image fused with the text's lexical ranking
    both = _search(client, image=raw, text="Sekar Srigadhing", text_weight=0.1)
    assert both["query"]["fusion"] == "rrf"
    assert [h["motif"]["number"] for h in both["hits"][:2]] == [7, 27]
    assert both["hits"][1]["visual"]["rank"] == 1


@pytest.mark.parametrize(
    ("text", "language"),
    [("Batik warna coklat bunga", "id"), ("brown flowered batik with white dots", "en")],
)
def test_the_query_language_is_reported(client, text, language):
    assert _search(client, text=text)["query"]["language"] == language


@pytest.mark.parametrize(
    "body",
    [
        {"text": "kawung", "lexical_weight": 1.5},
        {"text": "kawung", "lexical_weight": -0.1},
        {"text": "kawung", "lexical_weight": "high"},
        {"text": "?!... --- ,,,"},
        {"text": "x" * 1001},
        {"text": "   "},
    ],
    ids=["weight-above", "weight-below", "weight-text", "punctuation", "too-long", "blank"],
)
def test_bad_input_is_a_4xx_envelope(client, body):
    assert_envelope(client.post("/v1/search", json=body), 422, "validation")


def test_a_reload_rebuilds_the_lexical_index(client, shared_index, monkeypatch):
    """The lexical index comes from the index directory, so a swap changes names with it."""
    engine = client.app.state.engine
    before = engine.served.current.lexical
    monkeypatch.setattr(
        client.app.state.settings, "admin_token", __import__("pydantic").SecretStr("t")
    )
    answer = client.post(
        "/v1/index/reload",
        json={"index_dir": str(shared_index)},
        headers={"Authorization": "Bearer t"},
    )
    assert answer.status_code == 200, answer.text
    assert (
        engine.served.current.lexical is not before
        and len(engine.served.current.lexical.numbers) == 60
    )


def test_the_evaluation_ranks_through_the_engine(client):
    from evaluation.retrieval_metrics import evaluate_text_channels, text_query_sets

    engine = client.app.state.engine
    sets = text_query_sets(engine.index)
    assert {k: len(v) for k, v in sets.items() if k.startswith("name")} == {
        "name_workbook": 60,
        "name_files": 60,
        "name_files_differing": 12,
    }
    assert (54, "Sari Mulat") in sets["name_files_differing"]
    assert all("srigading" not in fold(q) for n, q in sets["description_id_first_sentence_no_name"])
    names = {k: v for k, v in sets.items() if k in ("name_workbook", "name_files_differing")}
    results = evaluate_text_channels(engine, names, {"visual": 0.0, "fused": 0.5})
    for by_config in results.values():
        assert by_config["fused"]["top1"] == 1.0
        assert by_config["visual"]["top1"] < 0.5
