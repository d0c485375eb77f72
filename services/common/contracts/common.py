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
    Field(description="Free text; leading and trailing whitespace is ignored."),
]
Seed = Annotated[int, Field(ge=0, lt=2**32, description="Random seed; the same seed repeats.")]
