"""How an answer and an error look on the page. Functions of the answer only: no gateway calls except
through the `thumbnail` function they are given."""

from __future__ import annotations

import base64
from collections.abc import Callable

import streamlit as st

from dashboard.client import GatewayError
from dashboard.labels import label
from dashboard.reasons import why
from services.common.contracts.gateway import RagResponse
from services.common.contracts.retrieval import Hit

GRID_COLUMNS = 5


def render_error(error: GatewayError, language: str) -> None:
    title = label(f"error.{error.type}", language)
    text = f"**{title}.** {error.message}"
    if error.retry_after:
        text += " " + label("retry_after", language).format(s=error.retry_after)
    st.error(text, icon="⚠️")
    if error.request_id:
        st.caption(f"{label('request_id', language)}: `{error.request_id}`")


def render_result(
    answer: RagResponse, language: str, thumbnail: Callable[[int], bytes | None]
) -> None:
    with st.container(key="generated"):
        _generated(answer, language)
    with st.container(key="references"):
        _references(answer.references, language, thumbnail)
    with st.container(key="prompt"):
        _prompt(answer, language)
    _details(answer, language)


def _generated(answer: RagResponse, language: str) -> None:
    st.subheader(label("generated", language))
    if not answer.images:
        st.info(label("no_image", language))
        return
    png = base64.b64decode(answer.images[0])
    caption = f"seed {answer.seed} · {answer.mode}"
    if answer.symmetry and answer.symmetry != "none":
        caption += f" · {answer.symmetry}"
    for style in answer.styles:
        caption += f" · {style.name} x{style.scale:g}"
    if answer.previews:
        # Each image fills its own column: a fixed width would spill into the next one.
        single, repeated = st.columns([1, 2])
        single.image(png, caption=caption, width="stretch")
        repeated.image(
            base64.b64decode(answer.previews[0]), caption=label("repeat", language), width="stretch"
        )
    else:
        st.image(png, caption=caption, width=384)
    if answer.designs:
        design = answer.designs[0]
        with st.container(key="saved"):
            st.markdown(f"{label('saved', language)} [`{design.id}`](library?design={design.id})")
    elif "library" in answer.degraded:
        st.caption(label("not_saved", language))
    download_png(png, f"batik-nitik-seed{answer.seed}.png", "download", language)


def download_png(png: bytes, file_name: str, key: str, language: str) -> None:
    """The Download PNG button (it does not rerun the page)."""
    st.download_button(
        label("download", language),
        data=png,
        file_name=file_name,
        mime="image/png",
        key=key,
        icon="⬇️",
        on_click="ignore",
    )


def _references(hits: list[Hit], language: str, thumbnail: Callable[[int], bytes | None]) -> None:
    st.subheader(label("references", language))
    for row_start in range(0, len(hits), GRID_COLUMNS):
        columns = st.columns(GRID_COLUMNS)
        for column, hit in zip(columns, hits[row_start : row_start + GRID_COLUMNS], strict=False):
            with column, st.container(border=True, key=f"reference-{hit.id}"):
                image = thumbnail(hit.id)
                if image:
                    st.image(image, width="stretch")
                description = (
                    hit.motif.description_id if language == "id" else hit.motif.description_en
                )
                st.markdown(f"**{hit.motif.name}**", help=description or None)
                st.caption(f"`{hit.file}`")
                st.caption(f"{label('cosine', language)} **{hit.score:.3f}**")
                if reason := why(hit, language):
                    st.caption(reason)


def _prompt(answer: RagResponse, language: str) -> None:
    prompt = answer.prompt
    st.subheader(label("prompt", language))
    st.code(prompt.text or "—", language=None, wrap_lines=True)
    st.caption(f"**{prompt.tokens}** {label('tokens', language)}")
    st.dataframe(
        [
            {"source": p.source, "text": p.text, "tokens": p.tokens, "kept": p.kept}
            for p in prompt.parts
        ],
        hide_index=True,
        width="stretch",
    )
    if prompt.cut:
        st.warning(f"**{label('cut', language)}:** " + " · ".join(f"“{c}”" for c in prompt.cut))
    if answer.captions:
        st.markdown(
            f"**{label('captions', language)}:** " + " · ".join(c.text for c in answer.captions)
        )


def _details(answer: RagResponse, language: str) -> None:
    if answer.degraded:
        st.warning(f"{label('degraded', language)}: {', '.join(answer.degraded)}")
    with st.expander(label("details", language)):
        if answer.cache.hit:
            st.caption(label("cache_hit", language))
        st.json({"seed": answer.seed, "mode": answer.mode, "timings_ms": answer.timings_ms})
