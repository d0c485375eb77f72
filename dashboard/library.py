"""The Library page: the caller's past designs (newest first, with filters) and one design's page
(its image, references, fused prompt, parameters and lineage; favourite, board, delete, download,
remix). Every read and change goes through the gateway client; thumbnails come from `thumbnail`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from dashboard.client import GatewayClient, GatewayError
from dashboard.export_panel import render_export_panel
from dashboard.labels import label
from dashboard.views import download_png, render_error
from services.common.contracts.library import Design

GRID_COLUMNS = 5
PAGE_SIZE = 20
# Sidebar widget key -> (recorded request field, default), for Remix.
_SIDEBAR = {
    "query_text": ("text", ""),
    "top_k": ("top_k", 5),
    "strength": ("strength", 0.55),
    "guidance": ("guidance_scale", 7.5),
    "seed": ("seed", None),
    "tile": ("tile", False),
    "repeat": ("repeat", "full"),
    "symmetry": ("symmetry", "none"),
    "steps": ("steps", 30),
    "negative": ("negative_prompt", ""),
}


def sidebar_values(design: Design) -> dict[str, Any]:
    """The sidebar's widget values that repeat `design` (its recorded request)."""
    recorded = design.provenance.get("request") or {}
    values = {}
    for key, (field, default) in _SIDEBAR.items():
        value = recorded.get(field)
        values[key] = default if value is None else value
    values["top_k"] = min(int(values["top_k"]), 10)
    values["steps"] = min(max(int(values["steps"]), 10), 50)
    return values


def _remix(design: Design) -> None:
    """On click: fill the sidebar (before its widgets are made on the next run) and remember the
    design, so the next run is its remix."""
    st.session_state.update(sidebar_values(design))
    st.session_state.remix_of = design.id


def render_library(
    client: GatewayClient, language: str, thumbnail: Callable[[str], bytes | None]
) -> None:
    st.title(label("library", language))
    opened = st.query_params.get("design")
    try:
        if opened:
            _design_page(client, client.design(opened), language)
        else:
            _grid(client, language, thumbnail)
    except GatewayError as error:
        render_error(error, language)
        if opened and st.button(label("back", language), key="back"):
            del st.query_params["design"]
            st.rerun()


def _open(design_id: str) -> None:
    st.query_params["design"] = design_id


def _grid(client: GatewayClient, language: str, thumbnail: Callable[[str], bytes | None]) -> None:
    boards = client.boards()
    words, motif, board, favorites = st.columns([3, 1, 2, 1], vertical_alignment="bottom")
    q = words.text_input(label("filter.words", language), key="filter_words")
    number = motif.number_input(
        label("filter.motif", language), min_value=0, value=None, step=1, key="filter_motif"
    )
    board_names = {b.id: f"{b.name} ({b.design_count})" for b in boards}
    board_id = board.selectbox(
        label("filter.board", language),
        [None, *board_names],
        format_func=lambda b: label("filter.all", language) if b is None else board_names[b],
        key="filter_board",
    )
    favorite = favorites.checkbox(label("filter.favorites", language), key="filter_favorites")
    page = client.designs(
        limit=PAGE_SIZE,
        q=q.strip() or None,
        motif=number,
        board=board_id,
        favorite="true" if favorite else None,
        cursor=st.session_state.get("library_cursor"),
    )
    if not page.designs:
        st.info(label("library.empty", language))
        return
    with st.container(key="designs"):
        for row in range(0, len(page.designs), GRID_COLUMNS):
            columns = st.columns(GRID_COLUMNS)
            for column, design in zip(
                columns, page.designs[row : row + GRID_COLUMNS], strict=False
            ):
                with column, st.container(border=True, key=f"design-{design.id}"):
                    image = thumbnail(design.id)
                    if image:
                        st.image(image, width="stretch")
                    star = "★ " if design.favorite else ""
                    st.markdown(f"{star}**{design.title or _motif_names(design) or design.id}**")
                    st.caption(design.created_at.strftime("%Y-%m-%d %H:%M UTC"))
                    st.button(
                        label("open", language),
                        key=f"open-{design.id}",
                        on_click=_open,
                        args=(design.id,),
                        width="stretch",
                    )
    if page.next_cursor and st.button(label("more", language), key="library_more"):
        st.session_state.library_cursor = page.next_cursor
        st.rerun()


def _motif_names(design: Design) -> str:
    references = design.provenance.get("references") or []
    names = [r.get("motif", {}).get("name") for r in references[:1]]
    return ", ".join(n for n in names if n)


def _design_page(client: GatewayClient, design: Design, language: str) -> None:
    if st.button(f"← {label('back', language)}", key="back"):
        del st.query_params["design"]
        st.rerun()
    made = design.provenance
    picture, facts = st.columns([1, 1])
    png = client.design_image(design.id)
    with picture, st.container(key="design-image"):
        st.image(png, caption=design.id, width="stretch")
        download_png(png, f"{design.id}.png", "design_download", language)
    with facts:
        st.subheader(design.title or label("design", language))
        _actions(client, design, language)
        with st.container(key="design-lineage"):
            if design.parent_id:
                st.markdown(f"{label('remix_of', language)} `{design.parent_id}`")
                st.button(
                    label("open_parent", language),
                    key="open_parent",
                    on_click=_open,
                    args=(design.parent_id,),
                )
            else:
                st.caption(label("original", language))
    render_export_panel(client, design, language)
    with st.container(key="design-prompt"):
        st.subheader(label("prompt", language))
        st.code(design.prompt or "—", language=None, wrap_lines=True)
    with st.container(key="design-references"):
        st.subheader(label("references", language))
        st.dataframe(
            [
                {
                    "motif": r.get("motif", {}).get("number"),
                    "name": r.get("motif", {}).get("name"),
                    "file": r.get("file"),
                    label("cosine", language): round(float(r.get("score", 0.0)), 3),
                }
                for r in made.get("references") or []
            ],
            hide_index=True,
            width="stretch",
        )
    with st.container(key="design-parameters"):
        st.subheader(label("parameters", language))
        keys = (
            "seed",
            "steps",
            "strength",
            "guidance_scale",
            "scheduler",
            "mode",
            "tile",
            "repeat",
            "symmetry",
            "control_scale",
        )
        st.json({k: made.get(k) for k in keys} | {"versions": made.get("versions")})


def _actions(client: GatewayClient, design: Design, language: str) -> None:
    star, remix, delete = st.columns(3)
    favorite_label = label("unfavorite" if design.favorite else "favorite", language)
    if star.button(favorite_label, key="favorite", width="stretch"):
        client.update_design(design.id, favorite=not design.favorite)
        st.rerun()
    remix.button(
        label("remix", language),
        key="remix",
        type="primary",
        on_click=_remix,
        args=(design,),
        width="stretch",
    )
    if delete.button(label("delete", language), key="delete", width="stretch"):
        client.delete_design(design.id)
        del st.query_params["design"]
        st.rerun()
    boards = {b.id: b.name for b in client.boards()}
    on = [boards[b] for b in design.board_ids if b in boards]
    if on:
        st.caption(f"{label('on_boards', language)}: " + ", ".join(on))
    with st.form("to_board", clear_on_submit=True, border=False):
        choice, name = st.columns(2)
        board_id = choice.selectbox(
            label("board", language), [None, *boards], format_func=lambda b: boards.get(b, "—")
        )
        new_name = name.text_input(label("new_board", language), key="new_board")
        if st.form_submit_button(label("add_to_board", language)):
            if new_name.strip():
                board_id = client.create_board(new_name.strip()).id
            if board_id:
                client.add_to_board(board_id, design.id)
                st.rerun()
