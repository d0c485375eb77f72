"""The library's tables as SQLAlchemy 2.0 typed ORM classes (the migrations create the same schema).

Portable between SQLite and PostgreSQL: times are integer microseconds since the epoch (exact, ordered,
no time-zone handling), embeddings float32 bytes, lists JSON. Every index serves one query of
`store.py`: the newest-first page per owner (`owner, created_us, id`), favourites, motif filter (through
`design_motifs`, which repeats `owner` and `created_us` so the filter walks one index in page order),
boards (through `board_designs`, which repeats `created_us` for the same reason), and the file
sweep (`sha256`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class DesignRow(Base):
    __tablename__ = "designs"

    id: Mapped[str] = mapped_column(String(24), primary_key=True)
    owner: Mapped[str] = mapped_column(String(128))
    created_us: Mapped[int] = mapped_column(BigInteger)
    title: Mapped[str | None] = mapped_column(String(200))
    notes: Mapped[str | None] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    favorite: Mapped[bool] = mapped_column(Boolean, default=False)
    parent_id: Mapped[str | None] = mapped_column(String(24))
    motifs: Mapped[list[int]] = mapped_column(JSON, default=list)
    prompt: Mapped[str] = mapped_column(Text, default="")
    # Lower-cased prompt, title and tags: what `q` matches words in.
    search_text: Mapped[str] = mapped_column(Text, default="")
    provenance: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary)  # float32, L2-normalised
    embedding_dim: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (
        Index("ix_designs_owner_created", "owner", "created_us", "id"),
        Index("ix_designs_created", "created_us", "id"),
        Index("ix_designs_owner_favorite_created", "owner", "favorite", "created_us", "id"),
        Index("ix_designs_sha256", "sha256"),
        Index("ix_designs_parent", "parent_id"),
    )


class DesignMotifRow(Base):
    __tablename__ = "design_motifs"

    design_id: Mapped[str] = mapped_column(
        String(24), ForeignKey("designs.id", ondelete="CASCADE"), primary_key=True
    )
    motif: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner: Mapped[str] = mapped_column(String(128))
    created_us: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        Index("ix_design_motifs_owner_motif_created", "owner", "motif", "created_us", "design_id"),
        Index("ix_design_motifs_motif_created", "motif", "created_us", "design_id"),
    )


class BoardRow(Base):
    __tablename__ = "boards"

    id: Mapped[str] = mapped_column(String(24), primary_key=True)
    owner: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(100))
    created_us: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_boards_owner_created", "owner", "created_us", "id"),)


class BoardDesignRow(Base):
    __tablename__ = "board_designs"

    board_id: Mapped[str] = mapped_column(
        String(24), ForeignKey("boards.id", ondelete="CASCADE"), primary_key=True
    )
    design_id: Mapped[str] = mapped_column(
        String(24), ForeignKey("designs.id", ondelete="CASCADE"), primary_key=True
    )
    added_us: Mapped[int] = mapped_column(BigInteger)
    # The design's own `created_us`, repeated (as design_motifs does) so that a board's page walks
    # (board_id, created_us, design_id) in page order instead of the owner's every design.
    created_us: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        Index("ix_board_designs_design", "design_id"),
        Index("ix_board_designs_board_created", "board_id", "created_us", "design_id"),
    )


class OwnerStateRow(Base):
    """Per owner: designs held (the quota, counted in the same transaction as each write) and a
    revision bumped on every design write (what the in-memory embedding matrices check)."""

    __tablename__ = "owner_state"

    owner: Mapped[str] = mapped_column(String(128), primary_key=True)
    design_count: Mapped[int] = mapped_column(BigInteger, default=0)
    revision: Mapped[int] = mapped_column(BigInteger, default=0)
