"""A page of designs as the JSON of `DesignPage`, each design's provenance spliced in as the JSON
text the database holds.

Provenance is most of a page's bytes (about 2.3 KB of a design's 2.7 KB): decoding 50 of them into
dicts only to encode them again was most of what a page cost, and so was building 50 validated
`Design` models only to serialise them. The rows are what the store wrote (validated when saved),
so a page is serialised from plain fields with pydantic-core's JSON writer, which writes each field
as `Design.model_dump_json` does; `provenance` comes last. Parsed, a page equals the page of models
(tests/unit/test_library_store.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pydantic_core


def page_json(designs: Sequence[tuple[dict[str, Any], str]], next_cursor: str | None) -> bytes:
    """The JSON of `DesignPage`, from each design's fields but its provenance
    (`store.design_fields`) and its provenance's JSON."""
    to_json = pydantic_core.to_json
    items = b",".join(
        # A design's fields are never `{}` (it has an id): drop the `}` and add the provenance.
        to_json(fields)[:-1] + b',"provenance":' + provenance.encode() + b"}"
        for fields, provenance in designs
    )
    return b'{"designs":[' + items + b'],"next_cursor":' + to_json(next_cursor) + b"}"
