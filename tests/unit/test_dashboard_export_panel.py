"""The Export panel's true-scale preview: the ruler and the page are images whose data URLs carry
exactly the bytes they were given, both drawn at the page's width in CSS centimetres."""

import base64
import re

from dashboard.export_panel import ruler_svg, true_scale_html


def test_true_scale_preview_carries_the_page_and_ruler_bytes_at_width():
    page = b"\x89PNG\r\n\x1a\n" + bytes(range(256))  # every byte value survives the encoding
    html = true_scale_html(page, "image/png", 12.5)
    sources = dict(re.findall(r'class="export-(ruler|page)" src="data:[^;]+;base64,([^"]+)"', html))
    assert base64.b64decode(sources["page"], validate=True) == page
    assert base64.b64decode(sources["ruler"], validate=True).decode() == ruler_svg(12.5)
    assert html.count("width:12.5cm") == 2
