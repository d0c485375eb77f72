"""provenance written before NaN and infinities became null is written again without them

A page passes each design's provenance on as the text the database holds, which must be JSON: the
writer used to spell a NaN `NaN` (not JSON). Only SQLite can hold such text: PostgreSQL's json type
refused it (that save failed). Rows are decoded and written again; the values become null, as the
API's models always answered them.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import pydantic_core
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_BATCH = 500


def upgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name != "sqlite":
        return
    suspects = sa.text(
        "SELECT id, provenance FROM designs WHERE id > :after AND (provenance LIKE '%NaN%' OR "
        "provenance LIKE '%Infinity%') ORDER BY id LIMIT :batch"
    )
    rewrite = sa.text("UPDATE designs SET provenance = :provenance WHERE id = :id")
    after = ""
    while rows := connection.execute(suspects, {"after": after, "batch": _BATCH}).all():
        for design_id, text in rows:
            clean = pydantic_core.to_json(pydantic_core.from_json(text), inf_nan_mode="null")
            if clean.decode() != text:  # a word in a prompt, say, is left as it is
                connection.execute(rewrite, {"provenance": clean.decode(), "id": design_id})
        after = rows[-1][0]


def downgrade() -> None:
    pass  # null stays null: the NaN it replaced meant nothing a reader could use
