"""board_designs repeats its design's created_us, indexed for a board's page in page order

Before, a board's page walked the owner's designs newest first and kept those on the board: a board
holding few of a large library's designs read nearly all of them. Existing rows take the time of
their design.

During a rolling update, replicas of the previous release still add board rows without the new
column. On PostgreSQL (where several replicas run) a trigger fills it from the design, so their
writes keep working; a later migration drops the trigger once no such replica can run. SQLite serves
one process, which runs this release once it has migrated.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("board_designs", sa.Column("created_us", sa.BigInteger, nullable=True))
    op.execute(
        "UPDATE board_designs SET created_us = "
        "(SELECT designs.created_us FROM designs WHERE designs.id = board_designs.design_id)"
    )
    # SQLite cannot alter a column in place: batch mode copies the table with the new definition.
    with op.batch_alter_table("board_designs") as batch:
        batch.alter_column("created_us", existing_type=sa.BigInteger, nullable=False)
    op.create_index(
        "ix_board_designs_board_created", "board_designs", ["board_id", "created_us", "design_id"]
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_FILL_CREATED_US)
        op.execute(
            "CREATE TRIGGER board_designs_fill_created_us BEFORE INSERT ON board_designs "
            "FOR EACH ROW EXECUTE FUNCTION board_designs_fill_created_us()"
        )


_FILL_CREATED_US = """
CREATE FUNCTION board_designs_fill_created_us() RETURNS trigger AS $$
BEGIN
    IF NEW.created_us IS NULL THEN
        SELECT designs.created_us INTO NEW.created_us FROM designs WHERE designs.id = NEW.design_id;
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql
"""


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER board_designs_fill_created_us ON board_designs")
        op.execute("DROP FUNCTION board_designs_fill_created_us()")
    op.drop_index("ix_board_designs_board_created", table_name="board_designs")
    with op.batch_alter_table("board_designs") as batch:
        batch.drop_column("created_us")
