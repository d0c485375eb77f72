"""Weighted reciprocal rank fusion of the visual and lexical rankings."""

import pytest

from services.retrieval.fusion import lexical_dominates, reciprocal_rank_fusion

VISUAL = {"a": 1, "b": 2, "c": 3, "d": 4}


def _order(fused):
    return [f.key for f in fused]


def test_constructed_case_orders_by_the_weighted_reciprocal_ranks():
    # c is the lexical first, b the lexical second; "x" is only in the lexical list.
    lexical = {"c": 1, "b": 2, "x": 3}
    fused = reciprocal_rank_fusion(VISUAL, lexical, 0.5)
    assert _order(fused) == ["c", "b", "x", "a", "d"]
    by_key = {f.key: f for f in fused}
    assert by_key["c"].score == pytest.approx(0.5 / (1 + 1) + 0.5 / (60 + 3))
    assert by_key["x"].score == pytest.approx(0.5 / (1 + 3))
    assert (by_key["x"].visual_rank, by_key["x"].lexical_rank) == (None, 3)
    assert (by_key["a"].visual_rank, by_key["a"].lexical_rank) == (1, None)


def test_weight_zero_is_the_visual_order_and_one_the_lexical_then_visual():
    lexical = {"d": 1, "c": 2}
    assert _order(reciprocal_rank_fusion(VISUAL, lexical, 0.0)) == ["a", "b", "c", "d"]
    assert _order(reciprocal_rank_fusion(VISUAL, {}, 0.7)) == ["a", "b", "c", "d"]
    # weight 1: lexical ranks decide; the rest keep their visual order
    assert _order(reciprocal_rank_fusion(VISUAL, lexical, 1.0)) == ["d", "c", "a", "b"]


def test_lexical_ties_are_broken_by_the_visual_rank():
    fused = reciprocal_rank_fusion(VISUAL, {"d": 1, "b": 1}, 0.5)
    assert _order(fused)[:2] == ["b", "d"]


def test_a_lexical_first_beats_any_visual_rank_above_the_bound():
    # The worst case: the lexical first is last of 10,000 visually, and the lexical second is
    # the visual first.
    visual = {f"p{i}": i for i in range(1, 10_001)}
    visual["first"], visual["second"] = 10_001, 1
    visual.pop("p1")
    lexical = {"first": 1, "second": 2}
    for weight in (0.1, 0.5, 0.9):
        assert lexical_dominates(weight, 1, 60)
        assert _order(reciprocal_rank_fusion(visual, lexical, weight))[0] == "first"
    # Below the bound (6/67 with k = 1 and 60) the visual channel can overrule a name ...
    assert not lexical_dominates(0.08, 1, 60)
    assert _order(reciprocal_rank_fusion(visual, lexical, 0.08))[0] == "second"
    # ... and with the textbook k = 60 in both channels even w = 0.9 does not protect it.
    assert not lexical_dominates(0.9, 60, 60)
    fused = reciprocal_rank_fusion(visual, lexical, 0.9, k_lexical=60, k_visual=60)
    assert _order(fused)[0] == "second"


@pytest.mark.parametrize("weight", [-0.01, 1.01])
def test_weight_out_of_range_is_refused(weight):
    with pytest.raises(ValueError, match="lexical_weight"):
        reciprocal_rank_fusion(VISUAL, {}, weight)
