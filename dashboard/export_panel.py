"""The Export panel of a design's page: format, physical width, dpi, repeat and palette; Export asks
the gateway for the file and for a preview at screen resolution (96 dpi), shown at true scale under a
ruler in centimetres (CSS `cm`: 96 CSS pixels per inch), with the file's figures and a download."""

from __future__ import annotations

import re

import streamlit as st

from dashboard.client import GatewayClient, GatewayError
from dashboard.labels import label
from dashboard.views import render_error
from services.common.contracts.library import Design
from services.common.export.palettes import palettes
from services.common.images import to_base64
from services.common.repeats import Repeat

FORMATS = ("png", "tiff", "pdf", "svg")
SCREEN_DPI = 96  # CSS pixels per inch: a preview at this dpi shown at CSS cm is at true scale
_FILENAME = re.compile(r'filename="([^"]+)"')
_MEDIA = {
    "png": "image/png",
    "tiff": "image/tiff",
    "pdf": "application/pdf",
    "svg": "image/svg+xml",
}


def _default_repeat(design: Design) -> str:
    """The repeat the design was generated seamless for, else the plain grid."""
    recorded = design.provenance.get("repeat")
    return recorded if recorded in {r.value for r in Repeat} else Repeat.FULL.value


def ruler_svg(width_cm: float) -> str:
    """A ruler `width_cm` long in CSS centimetres: a tick every millimetre, a number every cm."""
    ticks = []
    for mm in range(int(width_cm * 10) + 1):
        length = 4 if mm % 10 == 0 else 2.5 if mm % 5 == 0 else 1.5
        ticks.append(f'<line x1="{mm}" y1="0" x2="{mm}" y2="{length}"/>')
        if mm % 10 == 0:  # the numbers centred on their ticks, the two ends kept inside
            anchor = "start" if mm == 0 else "end" if mm + 10 > width_cm * 10 else "middle"
            ticks.append(f'<text x="{mm}" y="7.5" text-anchor="{anchor}">{mm // 10}</text>')
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width_cm}cm" '
        f'height="0.8cm" viewBox="0 0 {width_cm * 10} 8" style="display:block">'
        '<g stroke="#333" stroke-width="0.2">' + "".join(t for t in ticks if "<line" in t) + "</g>"
        '<g font-size="3" fill="#333" font-family="sans-serif">'
        + "".join(t for t in ticks if "<text" in t)
        + "</g></svg>"
    )


def _data_url(content: bytes, media: str) -> str:
    return f"data:{media};base64,{to_base64(content)}"


def true_scale_html(preview: bytes, media: str, width_cm: float) -> str:
    """The ruler over the preview, both `width_cm` CSS centimetres wide. Both are images (st.html
    sanitises inline SVG away; an SVG in an <img> is kept)."""
    ruler = _data_url(ruler_svg(width_cm).encode(), "image/svg+xml")
    return (
        '<div class="export-preview" style="overflow-x:auto">'
        f'<img class="export-ruler" src="{ruler}" style="width:{width_cm}cm;display:block"/>'
        f'<img class="export-page" src="{_data_url(preview, media)}" '
        f'style="width:{width_cm}cm;display:block"/>'
        "</div>"
    )


def render_export_panel(client: GatewayClient, design: Design, language: str) -> None:
    with st.container(key="design-export", border=True):
        st.subheader(label("export", language))
        fmt, width, dpi, repeat, palette = st.columns(5)
        options = {
            "format": fmt.selectbox(label("export.format", language), FORMATS, key="export_format"),
            "width_cm": width.number_input(
                label("export.width_cm", language),
                min_value=1.0,
                max_value=300.0,
                value=20.0,
                step=1.0,
                key="export_width",
            ),
            "dpi": int(
                dpi.number_input(
                    label("export.dpi", language),
                    min_value=72,
                    max_value=600,
                    value=300,
                    step=1,
                    key="export_dpi",
                )
            ),
            "repeat": repeat.selectbox(
                label("export.repeat", language),
                [r.value for r in Repeat],
                index=[r.value for r in Repeat].index(_default_repeat(design)),
                format_func=lambda r: label(f"repeat.{r}", language),
                key="export_repeat",
            ),
        }
        if options["repeat"] == Repeat.NONE:
            options["tiles_across"] = 1
        named = palette.selectbox(
            label("export.palette", language),
            [None, *palettes()],
            format_func=lambda p: (
                label("export.palette.none", language) if p is None else palettes()[p].title
            ),
            key="export_palette",
        )
        if named:
            options["palette"] = named
        if st.button(label("export.make", language), key="export_make", type="primary"):
            _export(client, design, options, language)
        made = st.session_state.get("export_made")
        if made and made["design"] == design.id:
            _show(made, language)


def _export(client: GatewayClient, design: Design, options: dict, language: str) -> None:
    preview_options = {**options, "dpi": SCREEN_DPI}
    if options["format"] != "svg":
        preview_options["format"] = "png"
    try:
        content, headers = client.export(design.id, options)
        preview, _ = client.export(design.id, preview_options)
    except GatewayError as error:
        st.session_state.pop("export_made", None)
        render_error(error, language)
        return
    match = _FILENAME.search(headers.get("content-disposition", ""))
    st.session_state.export_made = {
        "design": design.id,
        "content": content,
        "headers": headers,
        "name": match.group(1) if match else f"{design.id}.{options['format']}",
        "format": options["format"],
        "preview": preview,
        "width_cm": options["width_cm"],
    }


def _facts(made: dict, language: str) -> str:
    headers = made["headers"]
    if made["format"] == "svg":
        return (
            f"{headers.get('x-dot-count')} {label('export.dots', language)} · "
            f"{headers.get('x-dot-grid')} · {headers.get('x-dot-pitch-mm')} mm · "
            f"{headers.get('x-page-size-mm')} mm · {headers.get('x-render-difference')} "
            f"({label('export.difference', language)})"
        )
    pixels, size = headers.get("x-page-pixels"), headers.get("x-page-size-cm")
    return f"{pixels} px · {size} cm · {headers.get('x-dpi')} dpi · {made['name']}"


def _show(made: dict, language: str) -> None:
    with st.container(key="export-facts"):
        st.markdown(_facts(made, language))
    st.caption(label("export.true_scale", language))
    media = _MEDIA["svg"] if made["format"] == "svg" else _MEDIA["png"]
    with st.container(key="export-preview"):
        st.html(true_scale_html(made["preview"], media, made["width_cm"]))
    st.download_button(
        label("export.download", language),
        data=made["content"],
        file_name=made["name"],
        mime=_MEDIA[made["format"]],
        key="export_download",
    )
