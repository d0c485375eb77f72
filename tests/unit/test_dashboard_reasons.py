"""Reference cards say why each reference ranks where it does (dashboard/reasons.py)."""

from dashboard.reasons import why
from services.common.contracts.retrieval import ChannelScore, Hit, Motif


def hit(*, visual_rank=None, lexical=None, fused=None) -> Hit:
    return Hit(
        id=1,
        score=0.25,
        motif=Motif(number=1, name="Sekar Srigading"),
        file="1 Sekar Srigadhing 1.jpg",
        instance=1,
        rotation=0,
        fused_score=fused,
        visual=ChannelScore(score=0.25, rank=visual_rank),
        lexical=lexical,
    )


def test_a_visual_ranking_says_its_visual_rank():
    assert why(hit(visual_rank=3)) == "visual #3"


def test_a_fused_hit_says_which_part_of_the_motif_matched_and_each_rank():
    name = ChannelScore(score=4.0, rank=1, names=2.0, descriptions=0.0)
    assert why(hit(visual_rank=7, lexical=name, fused=0.26)) == "name match #1 · visual #7"
    both = ChannelScore(score=5.0, rank=2, names=2.0, descriptions=1.0)
    assert why(hit(lexical=both, fused=0.16)) == (
        "name match + description match #2 · not among the visual matches"
    )
    words = ChannelScore(score=1.0, rank=1, names=0.0, descriptions=1.0)
    assert (
        why(hit(visual_rank=2, lexical=words, fused=0.3), "id") == "deskripsi cocok #1 · visual #2"
    )


def test_a_lexical_channel_without_a_rank_adds_nothing():
    unranked = ChannelScore(score=0.0, rank=None, names=0.0, descriptions=0.0)
    assert why(hit(visual_rank=4, lexical=unranked, fused=0.008)) == "visual #4"
