"""designs, their motifs, boards, board membership, per-owner state

Revision ID: 0001
Revises:
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "designs",
        sa.Column("id", sa.String(24), primary_key=True),
        sa.Column("owner", sa.String(128), nullable=False),
        sa.Column("created_us", sa.BigInteger, nullable=False),
        sa.Column("title", sa.String(200)),
        sa.Column("notes", sa.Text),
        sa.Column("tags", sa.JSON, nullable=False),
        sa.Column("favorite", sa.Boolean, nullable=False),
        sa.Column("parent_id", sa.String(24)),
        sa.Column("motifs", sa.JSON, nullable=False),
        sa.Column("prompt", sa.Text, nullable=False),
        sa.Column("search_text", sa.Text, nullable=False),
        sa.Column("provenance", sa.JSON, nullable=False),
        sa.Column("width", sa.Integer, nullable=False),
        sa.Column("height", sa.Integer, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size_bytes", sa.BigInteger, nullable=False),
        sa.Column("embedding", sa.LargeBinary),
        sa.Column("embedding_dim", sa.Integer),
    )
    op.create_index("ix_designs_owner_created", "designs", ["owner", "created_us", "id"])
    op.create_index("ix_designs_created", "designs", ["created_us", "id"])
    op.create_index(
        "ix_designs_owner_favorite_created", "designs", ["owner", "favorite", "created_us", "id"]
    )
    op.create_index("ix_designs_sha256", "designs", ["sha256"])
    op.create_index("ix_designs_parent", "designs", ["parent_id"])

    op.create_table(
        "design_motifs",
        sa.Column(
            "design_id",
            sa.String(24),
            sa.ForeignKey("designs.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("motif", sa.Integer, primary_key=True),
        sa.Column("owner", sa.String(128), nullable=False),
        sa.Column("created_us", sa.BigInteger, nullable=False),
    )
    op.create_index(
        "ix_design_motifs_owner_motif_created",
        "design_motifs",
        ["owner", "motif", "created_us", "design_id"],
    )
    op.create_index(
        "ix_design_motifs_motif_created", "design_motifs", ["motif", "created_us", "design_id"]
    )

    op.create_table(
        "boards",
        sa.Column("id", sa.String(24), primary_key=True),
        sa.Column("owner", sa.String(128), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("created_us", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_boards_owner_created", "boards", ["owner", "created_us", "id"])

    op.create_table(
        "board_designs",
        sa.Column(
            "board_id",
            sa.String(24),
            sa.ForeignKey("boards.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "design_id",
            sa.String(24),
            sa.ForeignKey("designs.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("added_us", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_board_designs_design", "board_designs", ["design_id"])

    op.create_table(
        "owner_state",
        sa.Column("owner", sa.String(128), primary_key=True),
        sa.Column("design_count", sa.BigInteger, nullable=False),
        sa.Column("revision", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    for table in ("owner_state", "board_designs", "boards", "design_motifs", "designs"):
        op.drop_table(table)
