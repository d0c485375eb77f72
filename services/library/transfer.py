"""`batik designs export` / `import`: a whole library (rows and files) as one tar, between any databases.

    manifest.json        format, counts, when and from which database
    designs.jsonl        one design per line: every column (embedding as base64 float32)
    boards.jsonl         one board per line
    board_designs.jsonl  board membership
    objects/<sha>.png    each design file once

Export reads the tables a page at a time and spools the row lines to a temp file. Import keeps ids, owners and times,
checks each file against its sha256, writes the files before the rows (as a save does) and skips what the
target already holds, so running it twice, or after an interrupted run, adds nothing twice. It is also
how a library moves from SQLite to PostgreSQL.
"""

from __future__ import annotations

import base64
import io
import json
import tarfile
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from sqlalchemy import select

from services.common.errors import InvalidInputError
from services.library.files import sha256_hex
from services.library.schema import BoardDesignRow, BoardRow, DesignMotifRow, DesignRow
from services.library.store import LibraryStore

FORMAT = "batik-library/1"
_BATCH = 500
_DESIGN_COLUMNS = [c.key for c in DesignRow.__table__.columns]


def _design_record(row: DesignRow) -> dict[str, Any]:
    record = {name: getattr(row, name) for name in _DESIGN_COLUMNS}
    if record["embedding"] is not None:
        record["embedding"] = base64.b64encode(record["embedding"]).decode()
    return record


def _add(tar: tarfile.TarFile, name: str, data: bytes | IO[bytes]) -> None:
    stream = io.BytesIO(data) if isinstance(data, bytes) else data
    info = tarfile.TarInfo(name)
    info.size = stream.seek(0, io.SEEK_END)
    info.mtime = int(time.time())
    stream.seek(0)
    tar.addfile(info, stream)


def _pages(store: LibraryStore, model, order) -> Iterator[list]:
    """Every row of a table, a page at a time, by keyset on its primary key."""
    last = None
    while True:
        with store.session() as session:
            statement = select(model).order_by(*order).limit(_BATCH)
            if last is not None:
                statement = statement.where(order[0] > last)
            rows = list(session.scalars(statement))
        if not rows:
            return
        yield rows
        last = getattr(rows[-1], order[0].key)


def export_library(store: LibraryStore, out: Path) -> dict[str, int]:
    counts = {"designs": 0, "boards": 0, "board_designs": 0, "files": 0}
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    written: set[str] = set()
    with tarfile.open(partial, "w") as tar, tempfile.TemporaryFile() as lines:
        for rows in _pages(store, DesignRow, [DesignRow.id]):
            for row in rows:
                lines.write(json.dumps(_design_record(row)).encode() + b"\n")
                if row.sha256 not in written:
                    _add(tar, f"objects/{row.sha256}.png", store.files.read(row.sha256))
                    written.add(row.sha256)
            counts["designs"] += len(rows)
        _add(tar, "designs.jsonl", lines)
        boards = [
            json.dumps({"id": r.id, "owner": r.owner, "name": r.name, "created_us": r.created_us})
            for rows in _pages(store, BoardRow, [BoardRow.id])
            for r in rows
        ]
        _add(tar, "boards.jsonl", "".join(line + "\n" for line in boards).encode())
        with store.session() as session:
            links = [
                json.dumps({"board_id": b, "design_id": d, "added_us": t})
                for b, d, t in session.execute(
                    select(
                        BoardDesignRow.board_id, BoardDesignRow.design_id, BoardDesignRow.added_us
                    )
                )
            ]
        _add(tar, "board_designs.jsonl", "".join(line + "\n" for line in links).encode())
        counts.update(boards=len(boards), board_designs=len(links), files=len(written))
        manifest = {
            "format": FORMAT,
            "exported_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "database": store.engine.dialect.name,
            **counts,
        }
        _add(tar, "manifest.json", json.dumps(manifest, indent=2).encode())
    partial.replace(out)
    return counts


def _lines(tar: tarfile.TarFile, name: str) -> list[dict[str, Any]]:
    member = tar.extractfile(name)
    if member is None:
        raise InvalidInputError(f"the archive lacks {name}")
    return [json.loads(line) for line in member.read().splitlines() if line.strip()]


def import_library(store: LibraryStore, archive: Path) -> dict[str, int]:
    """Add the archive's designs, boards and files to the store; what was new."""
    counts = {"designs": 0, "boards": 0, "board_designs": 0}
    with tarfile.open(archive, "r") as tar:
        try:
            manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
        except KeyError:
            raise InvalidInputError(
                f"{archive} is not a library export (no manifest.json)"
            ) from None
        if manifest.get("format") != FORMAT:
            raise InvalidInputError(f"{archive}: unknown format {manifest.get('format')!r}")
        designs = _lines(tar, "designs.jsonl")
        for start in range(0, len(designs), _BATCH):
            counts["designs"] += _import_designs(store, tar, designs[start : start + _BATCH])
        with store.session(write=True) as session:
            for record in _lines(tar, "boards.jsonl"):
                if session.get(BoardRow, record["id"]) is None:
                    session.add(BoardRow(**record))
                    counts["boards"] += 1
            session.flush()
            for record in _lines(tar, "board_designs.jsonl"):
                key = (record["board_id"], record["design_id"])
                design = session.get(DesignRow, record["design_id"])
                board = session.get(BoardRow, record["board_id"])
                # A board holds only its own owner's designs (what add_to_board enforces, and
                # what a board's page relies on): a link across owners is not imported.
                if (
                    design is not None
                    and board is not None
                    and board.owner == design.owner
                    and session.get(BoardDesignRow, key) is None
                ):
                    session.add(BoardDesignRow(**record, created_us=design.created_us))
                    counts["board_designs"] += 1
    store.embeddings.clear()
    return counts


def _import_designs(store: LibraryStore, tar: tarfile.TarFile, records: list[dict]) -> int:
    with store.session() as session:
        present = set(
            session.scalars(
                select(DesignRow.id).where(DesignRow.id.in_([r["id"] for r in records]))
            )
        )
    new = [r for r in records if r["id"] not in present]
    for sha in {r["sha256"] for r in new}:
        member = tar.extractfile(f"objects/{sha}.png")
        data = member.read() if member else b""
        if sha256_hex(data) != sha:
            raise InvalidInputError(f"the archive's file for {sha} is missing or corrupt")
        store.files.put(data)  # the file before its row, as a save does
    per_owner: dict[str, int] = {}
    with store.session(write=True) as session:
        for record in new:
            fields = {name: record[name] for name in _DESIGN_COLUMNS}
            if fields["embedding"] is not None:
                fields["embedding"] = base64.b64decode(fields["embedding"])
            session.add(DesignRow(**fields))
            per_owner[record["owner"]] = per_owner.get(record["owner"], 0) + 1
        session.flush()
        session.add_all(
            DesignMotifRow(design_id=r["id"], motif=m, owner=r["owner"], created_us=r["created_us"])
            for r in new
            for m in dict.fromkeys(r["motifs"] or [])
        )
        for owner, count in per_owner.items():
            store.bump_owner(session, owner, count)
    return len(new)
