"""Prompt fusion: the user's query, the caption and the motif's facts in one SD prompt of <= 77 tokens.

Pure: it takes a token counter instead of a tokenizer, so it is tested without models. Parts are
offered in priority order (query, motif name, caption, facts) and kept whole while they fit; the first
part that does not fit is cut at a word boundary, and later parts still get a chance if they are short.
Earlier tokens weigh more in CLIP's text encoder, so priority order is also the prompt's order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from services.common.contracts.gateway import FusedPrompt, PromptPart

SD_MAX_TOKENS = 77  # CLIP text window, start and end tokens included
SEPARATOR = ", "


def _longest_prefix(words: list[str], fits: Callable[[str], bool]) -> int:
    """How many leading words fit (binary search: token counts grow with the prefix)."""
    low, high = 0, len(words)
    while low < high:
        middle = (low + high + 1) // 2
        if fits(" ".join(words[:middle])):
            low = middle
        else:
            high = middle - 1
    return low


def fuse_prompt(
    *,
    query: str | None,
    motif_name: str | None,
    captions: Sequence[str],
    facts: Sequence[str],
    count_tokens: Callable[[str], int],
    max_tokens: int = SD_MAX_TOKENS,
) -> FusedPrompt:
    """`count_tokens` counts content tokens only; two more are added for start and end."""
    offered: list[tuple[str, str]] = []
    if query and query.strip():
        offered.append(("query", query.strip()))
    if motif_name:
        offered.append(("motif", f"Batik Nitik {motif_name} motif"))
    offered += [("caption", c.strip()) for c in captions if c and c.strip()]
    offered += [("fact", f.strip()) for f in facts if f and f.strip()]

    budget = max_tokens - 2
    kept: list[str] = []
    parts: list[PromptPart] = []
    cut: list[str] = []

    def fits(candidate: str) -> bool:
        return count_tokens(SEPARATOR.join([*kept, candidate])) <= budget

    for source, text in offered:
        tokens = count_tokens(text)
        if fits(text):
            kept.append(text)
            parts.append(PromptPart(source=source, text=text, tokens=tokens, kept="full"))
            continue
        words = text.split()
        n = _longest_prefix(words, fits)
        if n:
            kept.append(" ".join(words[:n]))
            cut.append(" ".join(words[n:]))
            parts.append(PromptPart(source=source, text=text, tokens=tokens, kept="partial"))
        else:
            cut.append(text)
            parts.append(PromptPart(source=source, text=text, tokens=tokens, kept="dropped"))

    prompt = SEPARATOR.join(kept)
    return FusedPrompt(
        text=prompt,
        parts=parts,
        tokens=count_tokens(prompt) + 2,
        truncated=bool(cut),
        cut=cut,
    )
