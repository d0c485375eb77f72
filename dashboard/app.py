"""Batik Nitik dashboard (Streamlit): `streamlit run dashboard/app.py`.

A client of the gateway only (DASHBOARD_GATEWAY_URL, DASHBOARD_API_KEY). The sidebar holds the query
and the knobs; the Generate page shows the generated motif, the retrieved references and the fused
prompt; the Library page (dashboard/library.py) the caller's saved designs. Remix on a design fills
the sidebar with its settings, and the next run is its remix.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # `streamlit run dashboard/app.py` runs this file as a script
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import streamlit as st

from dashboard.client import GatewayClient, GatewayError, Query, run_query
from dashboard.config import DashboardSettings
from dashboard.labels import LANGUAGES, label
from dashboard.library import render_library
from dashboard.views import render_error, render_result

st.set_page_config(page_title="Batik Nitik", page_icon="🪡", layout="wide")


@st.cache_resource
def gateway_client() -> GatewayClient:
    settings = DashboardSettings()
    return GatewayClient(settings.gateway_url, settings.api_key, settings.timeout_s)


@st.cache_data(ttl=60, show_spinner=False)
def style_names() -> list[str]:
    return gateway_client().styles()


@st.cache_data(max_entries=256, show_spinner=False)
def thumbnail(base_url: str, item_id: int, index_version: str | None) -> bytes | None:
    # Keyed by the index version too: after a reload the same id is another photo.
    return gateway_client().reference_image(item_id, index_version)


@st.cache_data(max_entries=512, show_spinner=False)
def design_thumbnail(base_url: str, design_id: str) -> bytes | None:
    # A design's image never changes under its id: cached for the life of the process.
    try:
        return gateway_client().design_image(design_id, size=256)
    except GatewayError:
        return None


def sidebar() -> tuple[str, Query | None]:
    """The language, and the query when the run button was pressed this run."""
    with st.sidebar:
        language = (
            st.segmented_control(
                "Bahasa / Language",
                options=list(LANGUAGES),
                format_func=LANGUAGES.get,
                default="en",
                key="language",
            )
            or "en"
        )
        st.header(label("query", language))
        text = st.text_area(
            label("text", language),
            placeholder=label("text_placeholder", language),
            key="query_text",
            height=80,
        )
        upload = st.file_uploader(
            label("image", language), type=["png", "jpg", "jpeg", "webp"], key="query_image"
        )
        st.header(label("settings", language))
        top_k = st.slider(label("top_k", language), 1, 10, 5, key="top_k")
        strength = st.slider(label("strength", language), 0.1, 1.0, 0.55, 0.05, key="strength")
        guidance = st.slider(label("guidance", language), 5.0, 15.0, 7.5, 0.5, key="guidance")
        seed = st.number_input(
            label("seed", language),
            min_value=0,
            max_value=2**32 - 1,
            value=None,
            step=1,
            key="seed",
        )
        st.header(label("pakem", language))
        tile = st.checkbox(label("tile", language), key="tile")
        repeat = st.selectbox(
            label("repeat_type", language),
            ["full", "half_drop", "half_brick"],
            key="repeat",
            disabled=not tile,
        )
        symmetry = st.selectbox(
            label("symmetry", language), ["none", "auto", "c2", "c4", "d4"], key="symmetry"
        )
        preview_repeat = st.checkbox(label("preview_repeat", language), value=True, key="preview")
        style, style_scale = None, 1.0
        if names := style_names():
            style = st.selectbox(
                label("style", language),
                [None, *names],
                format_func=lambda name: name or label("no_style", language),
                key="style",
            )
            if style:
                style_scale = st.slider(
                    label("style_scale", language), 0.0, 2.0, 1.0, 0.1, key="style_scale"
                )
        with st.expander(label("advanced", language)):
            steps = st.slider(label("steps", language), 10, 50, 30, key="steps")
            negative = st.text_input(label("negative", language), key="negative")
        remix_of = st.session_state.get("remix_of")
        if remix_of:
            st.info(f"{label('remixing', language)} `{remix_of}`", icon="🔁")
            if st.button(label("remix_clear", language), key="remix_clear"):
                del st.session_state["remix_of"]
                st.rerun()
        pressed = st.button(label("run", language), type="primary", key="run", width="stretch")
    if not pressed:
        return language, None
    return language, Query(
        text=text.strip() or None,
        image=upload.getvalue() if upload is not None else None,
        image_name=upload.name if upload is not None else "query.png",
        top_k=int(top_k),
        strength=float(strength),
        guidance_scale=float(guidance),
        steps=int(steps),
        seed=int(seed) if seed is not None else None,
        negative_prompt=negative.strip() or None,
        tile=bool(tile),
        repeat=str(repeat),
        symmetry=str(symmetry),
        preview_repeat=bool(preview_repeat),
        style=style,
        style_scale=float(style_scale),
        remix_of=remix_of,
    )


def generate_page(language: str, query: Query | None) -> None:
    st.title(label("title", language))
    st.caption(label("intro", language))
    state = st.session_state
    if query is not None:
        if query.text is None and query.image is None:
            state.result, state.error = (
                None,
                GatewayError("validation", label("need_input", language)),
            )
        else:
            client = gateway_client()
            bar = st.empty()

            def progress(stage: str, fraction: float | None) -> None:
                # The stage in words; generation also with the denoising steps done.
                done = 0.0 if fraction is None else fraction
                text = label(f"stage.{stage}", language)
                if stage == "generation" and fraction is not None:
                    text += f" · {round(done * 100)}%"
                bar.progress(min(max(done, 0.0), 1.0), text=text)

            with st.spinner(label("running", language), show_time=True):
                try:
                    state.result, state.error = run_query(client, query, progress), None
                except GatewayError as error:
                    state.result, state.error = None, error
            bar.empty()
    if state.get("error") is not None:
        render_error(state.error, language)
    elif state.get("result") is not None:
        base_url = gateway_client().base_url
        version = state.result.index_version
        render_result(state.result, language, lambda item_id: thumbnail(base_url, item_id, version))
    else:
        st.info(label("empty", language))


def library_page(language: str) -> None:
    base_url = gateway_client().base_url
    render_library(
        gateway_client(), language, lambda design_id: design_thumbnail(base_url, design_id)
    )


def main() -> None:
    language, query = sidebar()
    generate = st.Page(
        lambda: generate_page(language, query or st.session_state.pop("pending_query", None)),
        title=label("nav.generate", language),
        url_path="generate",
        default=True,
    )
    library = st.Page(
        lambda: library_page(language), title=label("nav.library", language), url_path="library"
    )
    page = st.navigation([generate, library], position="top")
    if query is not None and page.url_path != "generate":
        # A run started from the library shows its answer on the Generate page.
        st.session_state.pending_query = query
        st.switch_page(generate)
    page.run()


main()
