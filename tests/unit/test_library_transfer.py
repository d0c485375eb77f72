"""`batik db upgrade` and `batik designs export|import`: a library moved from SQLite to PostgreSQL."""

from __future__ import annotations

import io
import json
import tarfile

import pytest

from services.cli import main
from services.common.errors import NotFoundError
from services.library import migrate
from services.library.files import FileStore
from services.library.store import DesignFilter, LibraryStore, Scope
from tests.helpers import design_png, design_provenance

ALICE, BOB, ADMIN = Scope("alice"), Scope("bob"), Scope("root", admin=True)


def _fill(store: LibraryStore) -> list[str]:
    ids = []
    for shade in range(5):
        owner = "alice" if shade % 2 == 0 else "bob"
        design = store.create_design(
            owner,
            png=design_png(shade),
            provenance=design_provenance(f"motif {shade}", [shade, 9], seed=shade),
            embedding=[1.0, float(shade)] if shade != 3 else None,
            tags=["t"],
        )
        ids.append(design.id)
    store.update_design(ALICE, ids[0], {"favorite": True, "title": "best"})
    board = store.create_board("alice", "sarongs")
    store.add_to_board(ALICE, board.id, ids[2])
    return ids


def test_db_upgrade_command_is_idempotent(tmp_path, capsys):
    url = f"sqlite:///{tmp_path}/lib.sqlite3"
    assert main(["db", "upgrade", "--db-url", url]) == 0
    assert main(["db", "upgrade", "--db-url", url]) == 0
    assert migrate.current_revision(url) == migrate.head_revision()
    assert "(head)" in capsys.readouterr().out


def test_a_library_moves_from_sqlite_to_postgresql_whole(tmp_path, postgres_server, capsys):
    source_url = f"sqlite:///{tmp_path}/source.sqlite3"
    migrate.upgrade(source_url)
    source = LibraryStore(source_url, FileStore(tmp_path / "source"))
    ids = _fill(source)
    before = source.list_designs(ADMIN).designs
    files = {d.id: source.files.read(d.sha256) for d in before}
    boards = source.list_boards(ADMIN)
    source.close()

    archive = tmp_path / "library.tar"
    assert main(["designs", "export", "--out", str(archive), "--db-url", source_url,
                 "--dir", str(tmp_path / "source")]) == 0  # fmt: skip
    with tarfile.open(archive) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())
    assert manifest["designs"] == 5 and manifest["boards"] == 1 and manifest["database"] == "sqlite"

    target_url = postgres_server.new_database()
    try:
        args = ["designs", "import", str(archive), "--db-url", target_url,
                "--dir", str(tmp_path / "target")]  # fmt: skip
        assert main(args) == 0
        assert main(args) == 0  # again: nothing added twice
        outputs = [json.loads(line) for line in capsys.readouterr().out.splitlines()[-2:]]
        assert outputs[0]["imported"] == {"designs": 5, "boards": 1, "board_designs": 1}
        assert outputs[1]["imported"] == {"designs": 0, "boards": 0, "board_designs": 0}

        target = LibraryStore(target_url, FileStore(tmp_path / "target"))
        try:
            assert target.list_designs(ADMIN).designs == before
            assert target.list_boards(ADMIN) == boards
            for design in before:
                assert target.image_path(ADMIN, design.id)[0].read_bytes() == files[design.id]
            assert [d.id for d in target.list_designs(BOB).designs] == [ids[3], ids[1]]
            hits = target.nearest(ALICE, [1.0, 4.0], limit=1)
            assert hits[0].design.id == ids[4]
            # the owners' counts came along: a new save and a delete keep them right
            target.delete_design(ALICE, ids[0])
            assert target.stats()[0] == 4
        finally:
            target.close()
    finally:
        postgres_server.drop_database(target_url)


def test_import_refuses_what_is_not_an_export(tmp_path, capsys):
    bogus = tmp_path / "bogus.tar"
    with tarfile.open(bogus, "w"):
        pass
    url = f"sqlite:///{tmp_path}/t.sqlite3"
    assert main(["designs", "import", str(bogus), "--db-url", url, "--dir", str(tmp_path)]) == 2
    assert "not a library export" in capsys.readouterr().out


def test_an_archive_linking_a_board_to_another_owner_s_design_imports_without_that_link(
    tmp_path, capsys
):
    """A board holds only its owner's designs (a board's page relies on it): a hand-edited or
    merged archive that links across owners keeps its designs and boards, not that link."""
    source_url = f"sqlite:///{tmp_path}/source.sqlite3"
    migrate.upgrade(source_url)
    source = LibraryStore(source_url, FileStore(tmp_path / "source"))
    ids = _fill(source)
    board = source.list_boards(ALICE)[0]
    source.close()
    archive, edited = tmp_path / "library.tar", tmp_path / "edited.tar"
    assert main(["designs", "export", "--out", str(archive), "--db-url", source_url,
                 "--dir", str(tmp_path / "source")]) == 0  # fmt: skip
    foreign = {"board_id": board.id, "design_id": ids[1], "added_us": 1}  # bob's design
    with tarfile.open(archive) as tar, tarfile.open(edited, "w") as out:
        for member in tar.getmembers():
            data = tar.extractfile(member).read()
            if member.name == "board_designs.jsonl":
                data += (json.dumps(foreign) + "\n").encode()
                member.size = len(data)
            out.addfile(member, io.BytesIO(data))
    target_url = f"sqlite:///{tmp_path}/target.sqlite3"
    args = ["designs", "import", str(edited), "--db-url", target_url, "--dir", str(tmp_path / "t")]
    assert main(args) == 0
    imported = json.loads(capsys.readouterr().out.splitlines()[-1])["imported"]
    assert imported == {"designs": 5, "boards": 1, "board_designs": 1}
    target = LibraryStore(target_url, FileStore(tmp_path / "t"))
    try:
        page = target.list_designs(ALICE, filters=DesignFilter(board=board.id))
        assert [d.id for d in page.designs] == [ids[2]]
        with pytest.raises(NotFoundError):
            target.list_designs(BOB, filters=DesignFilter(board=board.id))
    finally:
        target.close()
