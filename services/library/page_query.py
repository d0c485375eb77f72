"""The SQL of a page of designs, newest first: one statement per shape of filters, built once
(and of a few designs by id, with the same columns, for nearest designs).

Every value goes in as a bound parameter, so the statement of a shape (which filters are set, how
many words, whether there is a cursor) serves every page of that shape: building a statement and
its cache key anew took about 0.5 ms of a page's 2 to 4 (docs/BENCHMARKS.md).

Each filter that has a table of its own walks that table's index in page order: a motif's
(owner, motif, created_us, design_id), a board's (board_id, created_us, design_id). A page reads the
columns of a `Design`: its provenance as the JSON text the database holds (`page_json` passes it on
as it is), and its board ids, in the order they were added, as a JSON array from a correlated
subquery (no second query).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Integer, Select, Text, bindparam, cast, func, select, tuple_
from sqlalchemy.dialects.postgresql import aggregate_order_by

from services.library.schema import BoardDesignRow, DesignMotifRow, DesignRow


@dataclass(frozen=True)
class _Shape:
    sqlite: bool
    owner: bool  # False: an admin's page (every owner's designs)
    motif: bool
    board: bool
    favorite: bool
    after: bool
    before: bool
    words: int
    cursor: bool


def page_query(
    *,
    sqlite: bool,
    owner: str | None,
    limit: int,
    motif: int | None = None,
    board: str | None = None,
    favorite: bool | None = None,
    after_us: int | None = None,
    before_us: int | None = None,
    words: Sequence[str] = (),
    cursor: tuple[int, str] | None = None,
) -> tuple[Select, dict[str, Any]]:
    """The statement of a page (`limit` rows and one more, to tell whether another page follows)
    and its parameters. `owner` None: every owner's designs. `words`: all must be in the search
    text (lower case, taken literally)."""
    shape = _Shape(
        sqlite=sqlite,
        owner=owner is not None,
        motif=motif is not None,
        board=board is not None,
        favorite=favorite is not None,
        after=after_us is not None,
        before=before_us is not None,
        words=len(words),
        cursor=cursor is not None,
    )
    parameters: dict[str, Any] = {
        "owner": owner,
        "motif": motif,
        "board": board,
        "favorite": favorite,
        "after_us": after_us,
        "before_us": before_us,
        "limit": limit + 1,
        **{f"word_{n}": f"%{_like_escape(word)}%" for n, word in enumerate(words)},
    }
    if cursor is not None:
        parameters["cursor_created_us"], parameters["cursor_id"] = cursor
    return _statement(shape), {k: v for k, v in parameters.items() if v is not None}


@functools.lru_cache(maxsize=512)
def _statement(shape: _Shape) -> Select:
    statement = select(*_columns(shape.sqlite))
    order = (DesignRow.created_us, DesignRow.id)
    owner_column = DesignRow.owner
    if shape.motif:
        motif = DesignMotifRow
        statement = statement.join(motif, motif.design_id == DesignRow.id).where(
            motif.motif == bindparam("motif")
        )
        order, owner_column = (motif.created_us, motif.design_id), motif.owner
    if shape.owner:
        statement = statement.where(owner_column == bindparam("owner"))
    if shape.board:
        on_board = BoardDesignRow
        statement = statement.join(on_board, on_board.design_id == DesignRow.id).where(
            on_board.board_id == bindparam("board")
        )
        order = (on_board.created_us, on_board.design_id)
    if shape.favorite:
        statement = statement.where(DesignRow.favorite == bindparam("favorite"))
    if shape.after:
        statement = statement.where(order[0] > bindparam("after_us"))
    if shape.before:
        statement = statement.where(order[0] < bindparam("before_us"))
    for n in range(shape.words):
        statement = statement.where(DesignRow.search_text.like(bindparam(f"word_{n}"), escape="\\"))
    if shape.cursor:
        after = tuple_(bindparam("cursor_created_us"), bindparam("cursor_id"))
        statement = statement.where(tuple_(*order) < after)
    statement = statement.order_by(order[0].desc(), order[1].desc())
    return statement.limit(bindparam("limit", type_=Integer))


def designs_query(*, sqlite: bool, ids: Sequence[str]) -> tuple[Select, dict[str, Any]]:
    """The statement of these designs (any order), with a page's columns."""
    return _designs_statement(sqlite), {"ids": list(ids)}


@functools.cache
def _designs_statement(sqlite: bool) -> Select:
    return select(*_columns(sqlite)).where(DesignRow.id.in_(bindparam("ids", expanding=True)))


def _like_escape(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# What `store.design_fields` reads; the provenance and the board ids come as JSON text (below).
_DESIGN_COLUMNS = (
    "id",
    "owner",
    "created_us",
    "title",
    "notes",
    "tags",
    "favorite",
    "parent_id",
    "motifs",
    "prompt",
    "width",
    "height",
    "sha256",
)


@functools.cache
def _columns(sqlite: bool) -> list[Any]:
    # Correlated with the page's designs only: a board filter joins board_designs too.
    on_design = BoardDesignRow.design_id == DesignRow.id
    if sqlite:
        # Aggregated in the order of the subquery: what SQLite does, though it promises it only
        # from 3.44 (ORDER BY inside the aggregate), newer than some distributions ship.
        added = (
            select(BoardDesignRow.board_id)
            .where(on_design)
            .order_by(BoardDesignRow.added_us)
            .correlate(DesignRow)
            .subquery()
        )
        board_ids = select(func.json_group_array(added.c.board_id)).scalar_subquery()
    else:
        ordered = aggregate_order_by(BoardDesignRow.board_id, BoardDesignRow.added_us)
        board_ids = (
            select(func.coalesce(cast(func.json_agg(ordered), Text), "[]"))
            .where(on_design)
            .correlate(DesignRow)
            .scalar_subquery()
        )
    return [
        *(DesignRow.__table__.c[name] for name in _DESIGN_COLUMNS),
        cast(DesignRow.provenance, Text).label("provenance_json"),
        board_ids.label("board_ids_json"),
    ]
