"""The design library: designs, boards and embeddings in SQL, image files in the content-addressed store.

Plain class, no HTTP: refusals are `NotFoundError` (unknown id, or another owner's: the same answer),
`InvalidInputError` (bad cursor, filter or body value), `QuotaExceededError` and
`StoreUnavailableError` (the database does not answer), which `services.common.errors` maps.

Saving writes the PNG (settings embedded) to the file store atomically first, then one transaction
adds the row, its motif rows and the owner's count. A crash between the two leaves only a file that no
row names, which the sweep removes: a design is never half saved. Deleting commits the row's removal
first, then removes files no other row names.

SQLite is the default (one node), PostgreSQL serves deployments (the engine: `database.py`). A page
of designs is one query and is written as JSON without decoding its provenance (`page_json.py`).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import logging
import secrets
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
from pydantic_core import from_json
from sqlalchemy import delete, func, select
from sqlalchemy.engine import Connection, Result
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.exc import InterfaceError as SqlInterfaceError
from sqlalchemy.orm import Session

from services.common.contracts.library import (
    BOARD_ID,
    DESIGN_ID,
    MAX_PAGE,
    Board,
    Design,
    DesignPage,
    ScoredDesign,
    design_url,
    new_design_id,
)
from services.common.errors import (
    DomainError,
    InvalidInputError,
    NotFoundError,
    QuotaExceededError,
    StoreUnavailableError,
)
from services.library.database import WRITE, library_engine
from services.library.files import FileStore
from services.library.nearest import ALL_OWNERS, EmbeddingCache, normalise
from services.library.page_json import page_json
from services.library.page_query import designs_query, page_query
from services.library.provenance import embed_settings, motif_numbers, prompt_text, read_header
from services.library.schema import (
    BoardDesignRow,
    BoardRow,
    DesignMotifRow,
    DesignRow,
    OwnerStateRow,
)

log = logging.getLogger(__name__)

_IN_CHUNK = 500  # ids per `IN (...)` list: well under SQLite's and PostgreSQL's parameter limits


@dataclass(frozen=True)
class Scope:
    """Who asks: an owner, or an admin (sees and changes every owner's things)."""

    owner: str
    admin: bool = False


@dataclass(frozen=True)
class DesignFilter:
    motif: int | None = None
    board: str | None = None
    favorite: bool | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    q: str | None = None


class MissingFileError(DomainError):
    """A row whose file is gone: a fault of the volume, not of the request."""


def now_us() -> int:
    return time.time_ns() // 1000


def to_us(moment: datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1_000_000)


def from_us(us: int) -> datetime:
    return datetime.fromtimestamp(us / 1_000_000, tz=UTC)


def design_fields(row: Any, board_ids: list[str]) -> dict[str, Any]:
    """Every field of a `Design` but its provenance, from its row (an ORM object or a plain row
    of the designs table)."""
    return {
        "id": row.id,
        "owner": row.owner,
        "url": design_url(row.id),
        "created_at": from_us(row.created_us),
        "title": row.title,
        "notes": row.notes,
        "tags": list(row.tags or []),
        "favorite": row.favorite,
        "parent_id": row.parent_id,
        "motifs": list(row.motifs or []),
        "prompt": row.prompt,
        "board_ids": board_ids,
        "width": row.width,
        "height": row.height,
        "sha256": row.sha256,
    }


def new_board_id() -> str:
    return "b_" + secrets.token_hex(10)


def encode_cursor(created_us: int, design_id: str) -> str:
    return base64.urlsafe_b64encode(f"{created_us}.{design_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        created, _, design_id = raw.partition(".")
        if DESIGN_ID.fullmatch(design_id) and created.isdigit():
            return int(created), design_id
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise InvalidInputError("cursor is not one this library gave out (pass next_cursor as it is)")


def _search_text(prompt: str, title: str | None, tags: Sequence[str]) -> str:
    return " ".join([prompt, title or "", *tags]).lower()


def _plain_rows(result: Result) -> list[SimpleNamespace]:
    """Namespaces, not Rows: reading a Row's field by name costs about 1 us, and a page reads 17
    of them from each of 50 rows."""
    names = tuple(result.keys())
    return [SimpleNamespace(**dict(zip(names, row, strict=True))) for row in result.all()]


@contextlib.contextmanager
def _unavailable_as_domain_error() -> Iterator[None]:
    try:
        yield
    except (OperationalError, SqlInterfaceError) as exc:
        log.warning("design database unavailable: %s", exc.__class__.__name__)
        raise StoreUnavailableError(
            f"the design database is unavailable ({exc.orig.__class__.__name__})"
        ) from exc


class _EmbeddingSource:
    """One owner's embeddings (every owner's: `owner` None), read in the caller's session."""

    def __init__(self, session: Session, owner: str | None) -> None:
        self.session, self.owner = session, owner

    def _select(self, *columns):
        statement = select(*columns).where(DesignRow.embedding.is_not(None))
        return statement if self.owner is None else statement.where(DesignRow.owner == self.owner)

    def all(self) -> Iterator[tuple[str, bytes, int]]:
        statement = self._select(DesignRow.id, DesignRow.embedding, DesignRow.embedding_dim)
        yield from self.session.execute(statement.execution_options(yield_per=5000))

    def ids(self) -> set[str]:
        return set(self.session.scalars(self._select(DesignRow.id)))

    def some(self, ids: set[str]) -> Iterator[tuple[str, bytes, int]]:
        ordered = sorted(ids)
        for start in range(0, len(ordered), _IN_CHUNK):
            chunk = ordered[start : start + _IN_CHUNK]
            yield from self.session.execute(
                self._select(DesignRow.id, DesignRow.embedding, DesignRow.embedding_dim).where(
                    DesignRow.id.in_(chunk)
                )
            )


class LibraryStore:
    def __init__(
        self,
        db_url: str,
        files: FileStore,
        *,
        max_designs_per_owner: int | None = None,
        pool_size: int = 5,
        search_threads: int = 1,
    ) -> None:
        self.engine = library_engine(db_url, pool_size=pool_size)
        self.sqlite = self.engine.dialect.name == "sqlite"
        self._writer = self.engine.execution_options(**WRITE)
        # A one-statement read needs no transaction on PostgreSQL (each statement is its own
        # snapshot): autocommit saves BEGIN and COMMIT, two round trips. SQLite's BEGIN is local.
        self._one_statement = (
            self.engine
            if self.sqlite
            else self.engine.execution_options(isolation_level="AUTOCOMMIT")
        )
        self.files = files
        self.max_designs_per_owner = max_designs_per_owner
        self.embeddings = EmbeddingCache(search_threads)

    def close(self) -> None:
        self.engine.dispose()
        self.embeddings.close()

    # ---------------------------------------------------------------------------- sessions

    @contextlib.contextmanager
    def session(self, *, write: bool = False) -> Iterator[Session]:
        bind = self._writer if write else self.engine
        with (
            _unavailable_as_domain_error(),
            Session(bind, expire_on_commit=False) as session,
            session.begin(),
        ):
            yield session

    @contextlib.contextmanager
    def connection(self) -> Iterator[Connection]:
        """For a read of one statement (a page), in SQL alone: no ORM bookkeeping, and on
        PostgreSQL no transaction."""
        with _unavailable_as_domain_error(), self._one_statement.connect() as connection:
            yield connection

    def ping(self) -> None:
        with self.session() as session:
            session.execute(select(1))

    # ------------------------------------------------------------------------------ helpers

    @staticmethod
    def _visible(statement, column, scope: Scope):
        return statement if scope.admin else statement.where(column == scope.owner)

    def _design_row(self, session: Session, scope: Scope, design_id: str) -> DesignRow:
        row = session.get(DesignRow, design_id) if DESIGN_ID.fullmatch(design_id) else None
        if row is None or not (scope.admin or row.owner == scope.owner):
            raise NotFoundError(f"no design {design_id}")
        return row

    def _board_row(self, session: Session, scope: Scope, board_id: str) -> BoardRow:
        row = session.get(BoardRow, board_id) if BOARD_ID.fullmatch(board_id) else None
        if row is None or not (scope.admin or row.owner == scope.owner):
            raise NotFoundError(f"no board {board_id}")
        return row

    def bump_owner(self, session: Session, owner: str, delta: int) -> tuple[int, int]:
        """Add `delta` to the owner's design count and bump its revision; (count, revision)."""
        if self.sqlite:
            from sqlalchemy.dialects.sqlite import insert
        else:
            from sqlalchemy.dialects.postgresql import insert
        statement = (
            insert(OwnerStateRow)
            .values(owner=owner, design_count=max(delta, 0), revision=1)
            .on_conflict_do_update(
                index_elements=[OwnerStateRow.owner],
                set_={
                    "design_count": OwnerStateRow.design_count + delta,
                    "revision": OwnerStateRow.revision + 1,
                },
            )
            .returning(OwnerStateRow.design_count, OwnerStateRow.revision)
        )
        count, revision = session.execute(statement).one()
        return int(count), int(revision)

    def _revision(self, session: Session, owner: str) -> int:
        if owner == ALL_OWNERS:
            total = session.scalar(select(func.coalesce(func.sum(OwnerStateRow.revision), 0)))
        else:
            total = session.scalar(
                select(OwnerStateRow.revision).where(OwnerStateRow.owner == owner)
            )
        return int(total or 0)

    @staticmethod
    def _design(row: Any, board_ids: list[str], provenance: dict[str, Any]) -> Design:
        """A design from its row (an ORM object or a plain row of the designs table)."""
        return Design(**design_fields(row, board_ids), provenance=provenance)

    def _stored_design(self, session: Session, row: DesignRow) -> Design:
        """The design of an ORM row, with the boards it is on in the order it was added to them."""
        board_ids = session.scalars(
            select(BoardDesignRow.board_id)
            .where(BoardDesignRow.design_id == row.id)
            .order_by(BoardDesignRow.added_us)
        )
        return self._design(row, list(board_ids), row.provenance or {})

    def _queried_design(self, row: SimpleNamespace) -> Design:
        """The design of a row of `page_query` or `designs_query` (board ids and provenance as
        JSON text)."""
        return self._design(row, from_json(row.board_ids_json), from_json(row.provenance_json))

    def _count(self, session: Session, owner: str) -> int:
        return int(
            session.scalar(select(OwnerStateRow.design_count).where(OwnerStateRow.owner == owner))
            or 0
        )

    def _quota_message(self) -> str:
        return (
            f"the library is full: {self.max_designs_per_owner} designs per owner "
            "(LIBRARY_MAX_DESIGNS_PER_OWNER); delete some to save more"
        )

    # ------------------------------------------------------------------------------- designs

    def create_design(
        self,
        owner: str,
        *,
        png: bytes,
        provenance: dict[str, Any],
        embedding: Sequence[float] | None = None,
        parent_id: str | None = None,
        title: str | None = None,
        notes: str | None = None,
        tags: Sequence[str] = (),
        design_id: str | None = None,
        created_us: int | None = None,
    ) -> Design:
        """Save one design. `design_id` and `created_us` may be chosen by the caller: the gateway
        names a design (and its time) when it answers, before the design is saved, and its outbox
        retries the save until the library answers (gateway/saving.py). Idempotent by id: saving an
        id this owner already has answers that design and changes nothing; another owner's id is
        refused."""
        if design_id is not None and (saved := self.saved_design(owner, design_id)) is not None:
            return saved  # a retried save: no second file write, no second count
        size = read_header(png)
        vector = None if embedding is None else normalise(embedding)
        if vector is not None and not np.all(np.isfinite(vector)):
            raise InvalidInputError("embedding holds a NaN or infinite value")
        quota = self.max_designs_per_owner
        if quota is not None or parent_id is not None:
            # Refusals known before any file is written (the transaction below checks the quota
            # again, atomically).
            with self.session() as session:
                if quota is not None and self._count(session, owner) >= quota:
                    raise QuotaExceededError(self._quota_message())
                if parent_id is not None:
                    try:
                        self._design_row(session, Scope(owner), parent_id)
                    except NotFoundError:
                        raise InvalidInputError(
                            f"parent_id {parent_id} names no design of this owner"
                        ) from None
        data = embed_settings(png, provenance, size)
        sha = self.files.put(data)  # durable before the row that names it commits
        prompt = prompt_text(provenance)
        motifs = motif_numbers(provenance)
        row = DesignRow(
            id=design_id or new_design_id(),
            owner=owner,
            created_us=created_us or now_us(),
            title=title,
            notes=notes,
            tags=list(tags),
            favorite=False,
            parent_id=parent_id,
            motifs=motifs,
            prompt=prompt,
            search_text=_search_text(prompt, title, tags),
            provenance=provenance,
            width=size.width,
            height=size.height,
            sha256=sha,
            size_bytes=len(data),
            embedding=None if vector is None else vector.tobytes(),
            embedding_dim=None if vector is None else len(vector),
        )
        try:
            with self.session(write=True) as session:
                if design_id is not None and (saved := self._saved(session, owner, row.id)):
                    return saved  # the same save, committed meanwhile by a concurrent retry
                count, revision = self.bump_owner(session, owner, +1)
                if quota is not None and count > quota:
                    raise QuotaExceededError(self._quota_message())
                session.add(row)
                session.flush()  # the design row before the rows that refer to it
                session.add_all(
                    DesignMotifRow(
                        design_id=row.id, motif=m, owner=owner, created_us=row.created_us
                    )
                    for m in motifs
                )
        except IntegrityError:
            # PostgreSQL: a concurrent save of the same id committed between our check and insert.
            with self.session() as session:
                saved = self._saved(session, owner, row.id) if design_id is not None else None
            if saved is None:
                raise
            return saved
        except DomainError:
            self._remove_unnamed(sha)
            raise
        if not self.files.has(sha):  # a concurrent delete of the same bytes took the file
            self.files.put(data)
        # The owner's matrix is patched in place; the admins' one refreshes on its next search.
        self.embeddings.added(owner, revision - 1, row.id, vector)
        return self._design(row, [], provenance)

    def saved_design(self, owner: str, design_id: str) -> Design | None:
        """The owner's design of this chosen id if it is saved already (None: not yet); an id that
        is no design id, or another owner's, is refused."""
        if not DESIGN_ID.fullmatch(design_id):
            raise InvalidInputError(f"id {design_id!r} is not a design id (d_ and 20 hex digits)")
        with self.session() as session:
            return self._saved(session, owner, design_id)

    def _saved(self, session: Session, owner: str, design_id: str) -> Design | None:
        """The owner's design of this id if it is saved already; another owner's id is refused."""
        row = session.get(DesignRow, design_id)
        if row is None:
            return None
        if row.owner != owner:
            raise InvalidInputError(f"design id {design_id} is taken")
        return self._stored_design(session, row)

    def get_design(self, scope: Scope, design_id: str) -> Design:
        with self.session() as session:
            row = self._design_row(session, scope, design_id)
            return self._stored_design(session, row)

    def list_designs(
        self,
        scope: Scope,
        *,
        limit: int = 50,
        cursor: str | None = None,
        filters: DesignFilter = DesignFilter(),
    ) -> DesignPage:
        """A page as validated models; the HTTP answer is `list_designs_json`, the same page as JSON."""
        rows, next_cursor = self._page(scope, limit, cursor, filters)
        designs = [self._queried_design(row) for row in rows]
        return DesignPage(designs=designs, next_cursor=next_cursor)

    def list_designs_json(
        self,
        scope: Scope,
        *,
        limit: int = 50,
        cursor: str | None = None,
        filters: DesignFilter = DesignFilter(),
    ) -> bytes:
        """`list_designs` as the JSON of its `DesignPage`, for the HTTP answer: each design's
        provenance (most of a page's bytes) goes from the database's JSON text to the answer as it
        is, never decoded and encoded again."""
        rows, next_cursor = self._page(scope, limit, cursor, filters)
        designs = [
            (design_fields(row, from_json(row.board_ids_json)), row.provenance_json) for row in rows
        ]
        return page_json(designs, next_cursor)

    def _page(
        self, scope: Scope, limit: int, cursor: str | None, filters: DesignFilter
    ) -> tuple[list[Any], str | None]:
        """A page's rows, newest first, each with its provenance and board ids as JSON text, and
        the cursor of the next page (None: the last). One query: a page is one round trip."""
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidInputError(f"limit must be 1 to {MAX_PAGE}")
        after = decode_cursor(cursor) if cursor else None
        if (
            filters.created_after is not None
            and filters.created_before is not None
            and filters.created_after >= filters.created_before
        ):
            raise InvalidInputError("created_after must be earlier than created_before")
        if filters.board is not None and not BOARD_ID.fullmatch(filters.board):
            raise InvalidInputError(f"board {filters.board!r} is not a board id")
        statement, parameters = page_query(
            sqlite=self.sqlite,
            owner=None if scope.admin else scope.owner,
            limit=limit,
            motif=filters.motif,
            board=filters.board,
            favorite=filters.favorite,
            after_us=None if filters.created_after is None else to_us(filters.created_after),
            before_us=None if filters.created_before is None else to_us(filters.created_before),
            words=(filters.q or "").lower().split(),
            cursor=after,
        )
        with self.connection() as connection:
            rows = _plain_rows(connection.execute(statement, parameters))
        if not rows and filters.board is not None:
            # An empty page: the board may be another owner's (404), or none. A page with rows
            # proves it the caller's: a board holds only its owner's designs.
            with self.session() as session:
                self._board_row(session, scope, filters.board)
        if len(rows) <= limit:
            return rows, None
        rows = rows[:limit]
        return rows, encode_cursor(rows[-1].created_us, rows[-1].id)

    def update_design(self, scope: Scope, design_id: str, changes: dict[str, Any]) -> Design:
        """Set the fields in `changes` (title, notes, tags, favorite); others stay as they are."""
        with self.session(write=True) as session:
            row = self._design_row(session, scope, design_id)
            for name in ("title", "notes", "tags", "favorite"):
                if name in changes:
                    value = changes[name]
                    if name in ("tags", "favorite") and value is None:
                        raise InvalidInputError(f"{name} cannot be null")
                    setattr(row, name, list(value) if name == "tags" else value)
            row.search_text = _search_text(row.prompt, row.title, row.tags)
            session.flush()
            return self._stored_design(session, row)

    def delete_design(self, scope: Scope, design_id: str) -> None:
        with self.session(write=True) as session:
            row = self._design_row(session, scope, design_id)
            revisions = self._delete_rows(session, [row])
            owner, sha = row.owner, row.sha256
        self._remove_unnamed(sha)
        self.embeddings.removed(owner, revisions[owner] - 1, design_id)

    def _delete_rows(self, session: Session, rows: Sequence[DesignRow]) -> dict[str, int]:
        """Delete designs and what refers to them; each owner's revision after."""
        ids = [row.id for row in rows]
        session.execute(delete(BoardDesignRow).where(BoardDesignRow.design_id.in_(ids)))
        session.execute(delete(DesignMotifRow).where(DesignMotifRow.design_id.in_(ids)))
        session.execute(delete(DesignRow).where(DesignRow.id.in_(ids)))
        per_owner: dict[str, int] = {}
        for row in rows:
            per_owner[row.owner] = per_owner.get(row.owner, 0) + 1
        return {
            owner: self.bump_owner(session, owner, -count)[1] for owner, count in per_owner.items()
        }

    def _named(self, shas: set[str]) -> set[str]:
        named: set[str] = set()
        ordered = sorted(shas)
        with self.session() as session:
            for start in range(0, len(ordered), _IN_CHUNK):
                chunk = ordered[start : start + _IN_CHUNK]
                named.update(
                    session.scalars(
                        select(DesignRow.sha256).where(DesignRow.sha256.in_(chunk)).distinct()
                    )
                )
        return named

    def _remove_unnamed(self, sha: str) -> None:
        if sha not in self._named({sha}):
            self.files.remove(sha)

    def image_path(self, scope: Scope, design_id: str, size: int | None = None) -> tuple[Path, str]:
        """The PNG (or its thumbnail) to serve and its ETag."""
        with self.session() as session:
            sha = self._design_row(session, scope, design_id).sha256
        if not self.files.has(sha):
            raise MissingFileError(f"the image file of design {design_id} is missing")
        if size is None:
            return self.files.path(sha), sha
        return self.files.thumbnail(sha, size), f"{sha}-{size}"

    # ------------------------------------------------------------------------------ nearest

    def nearest(
        self,
        scope: Scope,
        embedding: Sequence[float],
        limit: int = 10,
        *,
        exclude: str | None = None,
        owner: str | None = None,
    ) -> list[ScoredDesign]:
        """Designs closest to `embedding` by cosine, best first (designs without one are skipped)."""
        query = normalise(embedding)
        if not np.all(np.isfinite(query)) or not np.any(query):
            raise InvalidInputError("embedding must be finite and not all zeros")
        key = owner or (ALL_OWNERS if scope.admin else scope.owner)
        with self.session() as session:
            revision = self._revision(session, key)

            source = _EmbeddingSource(session, None if key == ALL_OWNERS else key)
            hits = self.embeddings.search(key, revision, source, query, limit, exclude)
            if not hits:
                return []
            statement, parameters = designs_query(sqlite=self.sqlite, ids=[h[0] for h in hits])
            rows = _plain_rows(session.connection().execute(statement, parameters))
        designs = {row.id: self._queried_design(row) for row in rows}
        return [
            ScoredDesign(design=designs[design_id], score=score)
            for design_id, score in hits
            if design_id in designs  # deleted since the matrix was read
        ]

    def similar(self, scope: Scope, design_id: str, limit: int = 10) -> list[ScoredDesign]:
        """The design owner's designs nearest to this one (itself left out)."""
        with self.session() as session:
            row = self._design_row(session, scope, design_id)
            blob, owner = row.embedding, row.owner
        if blob is None:
            raise InvalidInputError(f"design {design_id} has no embedding to compare")
        vector = np.frombuffer(blob, dtype=np.float32)
        return self.nearest(scope, vector, limit, exclude=design_id, owner=owner)

    # ------------------------------------------------------------------------------- boards

    def _boards(self, session: Session, rows: Sequence[BoardRow]) -> list[Board]:
        counts: dict[str, int] = {}
        if rows:
            counts = dict(
                session.execute(
                    select(BoardDesignRow.board_id, func.count())
                    .where(BoardDesignRow.board_id.in_([row.id for row in rows]))
                    .group_by(BoardDesignRow.board_id)
                ).all()
            )
        return [
            Board(
                id=row.id,
                name=row.name,
                created_at=from_us(row.created_us),
                design_count=int(counts.get(row.id, 0)),
            )
            for row in rows
        ]

    def create_board(self, owner: str, name: str) -> Board:
        row = BoardRow(id=new_board_id(), owner=owner, name=name, created_us=now_us())
        with self.session(write=True) as session:
            session.add(row)
        return Board(id=row.id, name=name, created_at=from_us(row.created_us), design_count=0)

    def list_boards(self, scope: Scope) -> list[Board]:
        with self.session() as session:
            statement = self._visible(select(BoardRow), BoardRow.owner, scope)
            rows = list(session.scalars(statement.order_by(BoardRow.created_us, BoardRow.id)))
            return self._boards(session, rows)

    def get_board(self, scope: Scope, board_id: str) -> Board:
        with self.session() as session:
            return self._boards(session, [self._board_row(session, scope, board_id)])[0]

    def rename_board(self, scope: Scope, board_id: str, name: str) -> Board:
        with self.session(write=True) as session:
            row = self._board_row(session, scope, board_id)
            row.name = name
            session.flush()
            return self._boards(session, [row])[0]

    def delete_board(self, scope: Scope, board_id: str) -> None:
        """The board goes; its designs stay."""
        with self.session(write=True) as session:
            self._board_row(session, scope, board_id)
            session.execute(delete(BoardDesignRow).where(BoardDesignRow.board_id == board_id))
            session.execute(delete(BoardRow).where(BoardRow.id == board_id))

    def add_to_board(self, scope: Scope, board_id: str, design_id: str) -> None:
        """Idempotent: a design already on the board stays there once."""
        with self.session(write=True) as session:
            board = self._board_row(session, scope, board_id)
            design = self._design_row(session, scope, design_id)
            if board.owner != design.owner:
                raise InvalidInputError("a board holds only its own owner's designs")
            if session.get(BoardDesignRow, (board_id, design_id)) is None:
                session.add(
                    BoardDesignRow(
                        board_id=board_id,
                        design_id=design_id,
                        added_us=now_us(),
                        created_us=design.created_us,
                    )
                )

    def remove_from_board(self, scope: Scope, board_id: str, design_id: str) -> None:
        with self.session(write=True) as session:
            self._board_row(session, scope, board_id)
            self._design_row(session, scope, design_id)
            session.execute(
                delete(BoardDesignRow).where(
                    BoardDesignRow.board_id == board_id, BoardDesignRow.design_id == design_id
                )
            )

    # ---------------------------------------------------------------------------- upkeep

    def sweep_retention(self, days: int, *, batch: int = _IN_CHUNK) -> int:
        """Delete designs older than `days` (favourites are kept); how many went."""
        cutoff = now_us() - days * 86_400 * 1_000_000
        removed = 0
        while True:
            with self.session(write=True) as session:
                rows = list(
                    session.scalars(
                        select(DesignRow)
                        .where(DesignRow.created_us < cutoff, DesignRow.favorite.is_(False))
                        .order_by(DesignRow.created_us)
                        .limit(batch)
                    )
                )
                if not rows:
                    break
                self._delete_rows(session, rows)
            for sha in {row.sha256 for row in rows} - self._named({row.sha256 for row in rows}):
                self.files.remove(sha)
            removed += len(rows)
        return removed  # cached matrices see the new revisions and refresh on their next search

    def sweep_files(self, *, grace_s: float) -> int:
        """Remove files no row names (left by a crash mid-save), older than `grace_s`."""
        return self.files.sweep(self._named, grace_s=grace_s)

    def stats(self) -> tuple[int, int]:
        """(designs, bytes of their PNGs) over every owner."""
        with self.session() as session:
            count, size = session.execute(
                select(func.count(), func.coalesce(func.sum(DesignRow.size_bytes), 0)).select_from(
                    DesignRow
                )
            ).one()
        return int(count), int(size)
