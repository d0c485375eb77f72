"""Each evaluation metric against a small case whose answer is known."""

import numpy as np
import pytest
from PIL import Image

from evaluation.retrieval_metrics import RankingScores, evaluate_retrieval


def test_average_precision_of_a_given_ranking_by_hand():
    scores = RankingScores()
    # ranking: relevant, not, relevant, not -> AP = (1/1 + 2/3) / 2
    scores.add(np.array([0.9, 0.8, 0.7, 0.6]), np.array([True, False, True, False]))
    # ranking: not, relevant -> AP = 1/2; top-1 miss, top-5 hit
    scores.add(np.array([0.9, 0.1]), np.array([False, True]))
    summary = scores.summary()
    assert summary["map"] == pytest.approx(((1 + 2 / 3) / 2 + 0.5) / 2, abs=1e-4)
    assert summary["top1"] == 0.5 and summary["top5"] == 1.0
    assert summary["mean_top_cosine"] == pytest.approx(0.9)


def test_a_query_with_nothing_relevant_is_counted_apart():
    scores = RankingScores()
    assert scores.add(np.array([0.5, 0.4]), np.array([False, False])) is False
    assert scores.summary() == {
        "top1": None,
        "top5": None,
        "map": None,
        "mean_top_cosine": None,
        "queries": 0,
        "not_evaluable": 1,
    }


class _Index:
    """Four photos of two motifs, each photo in two rotations, with hand-made vectors."""

    def __init__(self):
        from services.retrieval.index import IndexItem

        self.items = [
            IndexItem(id=i, file=f"{n} M {inst}_{rot}.jpg", number=n, instance=inst, rotation=rot)
            for i, (n, inst, rot) in enumerate(
                [
                    (1, 1, 0),
                    (1, 1, 90),
                    (1, 2, 0),
                    (1, 2, 90),
                    (2, 1, 0),
                    (2, 1, 90),
                    (2, 2, 0),
                    (2, 2, 90),
                ]
            )
        ]
        self.size = len(self.items)
        self.motifs = {
            1: {"name": "one", "description_en": "One."},
            2: {"name": "two", "description_en": "Two."},
        }
        # Rotations of a photo are nearly identical; the other photo of the same motif is far, and
        # closer to the OTHER motif's photos: only the leaky protocol looks good here.
        base = {(1, 1): [1, 0, 0], (1, 2): [0, 0, 1], (2, 1): [0.1, 0.1, 0.99], (2, 2): [1, 0.1, 0]}
        vectors = []
        for item in self.items:
            v = np.array(base[(item.number, item.instance)], dtype=np.float32)
            v += 0.01 * (item.rotation / 90)
            vectors.append(v / np.linalg.norm(v))
        self.vectors = np.stack(vectors)

        class _Flat:
            def reconstruct_n(inner, start, n):
                return self.vectors[start : start + n]

        self.index = _Flat()


class _Encoder:
    def embed_texts(self, texts):
        vectors = {"one": [1, 0, 0], "two": [0.1, 0.1, 0.99], "One.": [1, 0, 0], "Two.": [0, 0, 1]}
        return np.array([vectors[t] for t in texts], dtype=np.float32)


def test_leak_free_protocol_excludes_the_query_rotations():
    metrics = evaluate_retrieval(_Index(), _Encoder())
    leaky = metrics["image_to_image"]["leaky"]
    free = metrics["image_to_image"]["leak_free"]
    assert leaky["top1"] == 1.0  # every query's best match is its own rotation
    assert free["top1"] == 0.0  # without it, the nearest photo is the other motif's
    assert free["queries"] == leaky["queries"] == 8
    assert metrics["text_to_image"]["name"]["top1"] == 1.0
    assert metrics["text_to_image"]["description_en"]["top1"] == 0.5


def test_frechet_distance_of_a_set_against_itself_is_near_zero_and_grows_with_a_shift(tiny_models):
    from evaluation.generation_metrics import frechet_distance
    from services.retrieval.encoder import ClipEncoder

    encoder = ClipEncoder(str(tiny_models["clip"]))
    rng = np.random.default_rng(0)
    real = [Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)) for _ in range(24)]

    def shifted(amount: int):
        return [
            Image.fromarray(np.clip(np.asarray(i, int) + amount, 0, 255).astype(np.uint8))
            for i in real
        ]

    same = frechet_distance(real, real, features="clip", encoder=encoder)
    small = frechet_distance(real, shifted(40), features="clip", encoder=encoder)
    large = frechet_distance(real, shifted(120), features="clip", encoder=encoder)
    assert abs(same) < 1e-3
    assert same < small < large


def test_fid_without_weights_fails_before_generating():
    from evaluation.generation_metrics import FeatureError, check_features

    with pytest.raises(FeatureError, match="--features clip"):
        check_features("inception", None)
    check_features("clip", None)


def test_captioning_metrics_are_sacrebleu_and_rouge_score_on_fixed_strings():
    import sacrebleu
    from rouge_score import rouge_scorer

    from services.captioning.finetune.metrics import bleu4, rouge_l

    hypotheses = ["a dotted kawung motif of four circles", "a brown flower of dots"]
    references = ["a kawung motif of four dotted circles", "a brown flower made of dots"]
    assert bleu4(hypotheses, references) == sacrebleu.corpus_bleu(hypotheses, [references]).score
    assert bleu4(references, references) == pytest.approx(100.0)
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    expected = [
        scorer.score(r, h)["rougeL"].fmeasure for h, r in zip(hypotheses, references, strict=True)
    ]
    assert rouge_l(hypotheses, references) == pytest.approx(100 * sum(expected) / 2)
    # By hand: "a brown flower of dots" against "a brown flower made of dots" shares all 5 words in
    # order (LCS 5): precision 5/5, recall 5/6, F1 = 10/11.
    assert expected[1] == pytest.approx(10 / 11)
