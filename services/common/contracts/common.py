"""Field types the contracts share."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

Base64Image = Annotated[
    str,
    Field(
        min_length=1,
        description="The image file (PNG, JPEG or WebP) as base64; a `data:` URL prefix is accepted.",
    ),
]
QueryText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=1000),
    Field(
        description="Free text with at least one letter or digit; leading and trailing whitespace "
        "is ignored.",
        # For generators and schema-driven tests; retrieval checks it (any script, str.isalnum).
        json_schema_extra={"pattern": r"[^\W_]"},
    ),
]
# A free text the services refuse when blank: at least one character that is not whitespace.
NOT_BLANK = r"\S"


def present(*names: str) -> dict:
    """JSON Schema: these fields are present and not null (for the cross-field rules a contract
    states in its schema, under `allOf`: a top-level anyOf makes client generators split a model)."""
    return {"required": list(names), "properties": {n: {"not": {"type": "null"}} for n in names}}


Seed = Annotated[int, Field(ge=0, lt=2**32, description="Random seed; the same seed repeats.")]
