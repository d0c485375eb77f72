"""Output hygiene: echo removal, what counts as degenerate, and the retry-once policy."""

import pytest

from services.captioning.hygiene import Outcome, degenerate_reason, guard, strip_prompt_echo


@pytest.mark.parametrize(
    ("text", "prompt", "expected"),
    [
        ("a batik motif of dotted flowers", "a batik motif of", "dotted flowers"),
        ("Question: Describe the pattern. Answer: a kawung motif", None, "a kawung motif"),
        ("dotted flowers\ufffd", "a batik motif of", "dotted flowers"),
    ],
)
def test_prompt_echo_is_stripped(text, prompt, expected):
    assert strip_prompt_echo(text, prompt) == expected


@pytest.mark.parametrize(
    ("text", "prompt", "min_words", "reason"),
    [
        ("", None, 1, "empty"),
        (" .,; ", None, 1, "empty"),
        ("kawung", None, 3, "shorter than 3 words"),
        ("describe the pattern", "Describe the pattern of this batik", 1, "repeats the prompt"),
        ("nitik nitik nitik nitik nitik nitik dots", None, 1, "repeats itself"),
        ("a dotted kawung motif of four petals", "Describe the pattern", 3, None),
        ("yes", "Question: is it batik? Answer:", 1, None),
    ],
)
def test_degenerate_reason(text, prompt, min_words, reason):
    assert degenerate_reason(text, prompt, min_words) == reason


def check(text: str) -> str | None:
    return degenerate_reason(text, None, 2)


def test_guard_keeps_good_outputs_and_does_not_retry():
    retried = []
    outcomes = guard(["dotted flowers", "a kawung motif"], lambda i: retried.append(i), check)
    assert outcomes == [Outcome("dotted flowers"), Outcome("a kawung motif")]
    assert retried == []


def test_guard_retries_only_the_degenerate_ones_once():
    calls = []

    def retry(indices):
        calls.append(indices)
        return ["sampled dotted flowers", ""][: len(indices)] if indices == [1, 2] else []

    outcomes = guard(["a kawung motif", "", "kawung"], retry, check)
    assert calls == [[1, 2]]
    assert outcomes[0] == Outcome("a kawung motif")
    assert outcomes[1] == Outcome("sampled dotted flowers", attempts=2)
    # Still degenerate after the retry: reported as such with no text, never served as a caption.
    assert outcomes[2] == Outcome("", degenerate=True, reason="empty", attempts=2)
