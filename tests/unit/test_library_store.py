"""The library store on SQLite and on a real PostgreSQL: migrations, designs, boards, ownership,
pagination and filters, deletes and sweeps, quota, nearest designs, and a reopened store."""

from __future__ import annotations

import json
import math
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import create_engine

from services.common.contracts.library import Design, DesignPage
from services.common.errors import InvalidInputError, NotFoundError, QuotaExceededError
from services.library import migrate
from services.library.files import FileStore
from services.library.provenance import read_text_chunks
from services.library.store import DesignFilter, LibraryStore, Scope, now_us
from tests.helpers import design_png, design_provenance

ALICE, BOB, ADMIN = Scope("alice"), Scope("bob"), Scope("root", admin=True)


@pytest.fixture
def store(library_db_url, tmp_path):
    migrate.upgrade(library_db_url)
    opened = LibraryStore(library_db_url, FileStore(tmp_path / "files"))
    yield opened
    opened.close()


def save(store, owner="alice", shade=0, motifs=(1,), prompt="kawung", **fields):
    return store.create_design(
        owner,
        png=design_png(shade),
        provenance=design_provenance(prompt, list(motifs), seed=shade),
        **fields,
    )


def _insert_design_row(connection, design_id, *, created_us=1, provenance="{}"):
    """A design row as an earlier revision of the schema holds it (SQL, not the models)."""
    from sqlalchemy import text

    connection.execute(
        text(
            "INSERT INTO designs (id, owner, created_us, tags, favorite, motifs, prompt,"
            " search_text, provenance, width, height, sha256, size_bytes) VALUES (:id, 'alice',"
            " :created_us, '[]', false, '[]', '', '', :provenance, 8, 8, :sha, 1)"
        ),
        {"id": design_id, "created_us": created_us, "provenance": provenance, "sha": "0" * 64},
    )


def test_migrations_from_empty_reach_head_match_the_models_and_rerun_as_nothing(library_db_url):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from services.library.schema import Base

    assert migrate.current_revision(library_db_url) is None
    migrate.upgrade(library_db_url)
    assert migrate.current_revision(library_db_url) == migrate.head_revision()
    migrate.upgrade(library_db_url)  # at head: nothing to do, no error
    engine = create_engine(migrate.database_url(library_db_url))
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    assert diff == []


def test_an_upgrade_from_0001_gives_board_rows_their_design_s_time(library_db_url, tmp_path):
    """0002 repeats each design's created_us on its board rows; rows written before it take the
    time of their design, and their board pages as before."""
    from sqlalchemy import text

    migrate.upgrade(library_db_url, "0001")
    engine = create_engine(migrate.database_url(library_db_url))
    designs = {"d_" + "1" * 20: 1_700_000_000_000_000, "d_" + "2" * 20: 1_700_000_500_000_000}
    with engine.begin() as connection:
        for design_id, created in designs.items():
            _insert_design_row(connection, design_id, created_us=created)
        connection.execute(
            text("INSERT INTO boards VALUES ('b_' || :hex, 'alice', 'old board', 1)"),
            {"hex": "3" * 20},
        )
        for design_id in designs:
            connection.execute(
                text("INSERT INTO board_designs VALUES (:board, :design, 5)"),
                {"board": "b_" + "3" * 20, "design": design_id},
            )
    migrate.upgrade(library_db_url)
    with engine.connect() as connection:
        times = dict(
            connection.execute(text("SELECT design_id, created_us FROM board_designs")).all()
        )
    engine.dispose()
    assert times == designs
    store = LibraryStore(library_db_url, FileStore(tmp_path / "files"))
    try:
        page = store.list_designs(ALICE, filters=DesignFilter(board="b_" + "3" * 20))
        assert [d.id for d in page.designs] == sorted(designs, reverse=True)
    finally:
        store.close()


def test_saved_design_carries_its_settings_in_the_stored_file(store):
    design = save(store, shade=3, motifs=(5, 2, 5), prompt="Sekar Jagad brown", tags=["sogan"])
    assert design.motifs == [5, 2] and design.prompt == "Sekar Jagad brown"
    assert (design.width, design.height) == (32, 32) and design.url.endswith("/image")
    stored = store.files.read(design.sha256)
    texts = read_text_chunks(stored)
    assert texts["parameters"].startswith("Sekar Jagad brown\nSteps: 20")
    assert '"seed": 3' in texts["batik"]
    assert store.get_design(ALICE, design.id) == design


def test_pages_walk_every_design_newest_first_without_repeats(store):
    ids = [save(store, shade=i).id for i in range(7)]
    seen, cursor = [], None
    while True:
        page = store.list_designs(ALICE, limit=3, cursor=cursor)
        seen += [d.id for d in page.designs]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == ids[::-1]


@pytest.mark.parametrize("cursor", ["nonsense", "bW9ua2V5", "", "MTIzLmRfeHg"])
def test_a_cursor_we_did_not_give_out_is_refused(store, cursor):
    with pytest.raises(InvalidInputError, match="cursor"):
        store.list_designs(ALICE, cursor=cursor or "=")


def test_filters_motif_favorite_time_words_and_board(store):
    old = save(store, shade=1, motifs=(1, 2), prompt="kawung picis")
    middle = save(store, shade=2, motifs=(2,), prompt="sekar jagad", title="Wedding cloth")
    new = save(store, shade=3, motifs=(3,), prompt="parang", tags=["Sogan"])
    store.update_design(ALICE, middle.id, {"favorite": True})
    board = store.create_board("alice", "sarongs")
    store.add_to_board(ALICE, board.id, old.id)
    store.add_to_board(ALICE, board.id, new.id)

    def ids(**filters):
        return [d.id for d in store.list_designs(ALICE, filters=DesignFilter(**filters)).designs]

    assert ids(motif=2) == [middle.id, old.id]
    assert ids(motif=99) == []
    assert ids(favorite=True) == [middle.id]
    assert ids(favorite=False) == [new.id, old.id]
    assert ids(q="wedding") == [middle.id]  # title
    assert ids(q="sogan") == [new.id]  # tags, any case
    assert ids(q="kawung picis") == [old.id]  # every word
    assert ids(q="100%") == []  # LIKE wildcards are literal
    assert ids(board=board.id) == [new.id, old.id]
    assert ids(board=board.id, motif=1) == [old.id]
    assert ids(created_after=middle.created_at) == [new.id]
    assert ids(created_before=middle.created_at) == [old.id]
    with pytest.raises(InvalidInputError):
        ids(created_after=new.created_at, created_before=old.created_at)
    with pytest.raises(InvalidInputError):
        ids(board="not-a-board")
    with pytest.raises(NotFoundError):
        ids(board=store.create_board("bob", "bob's").id)


def test_a_page_as_json_is_the_page_s_model_field_for_field(store):
    """The HTTP answer's bytes (provenance spliced in as the database holds it) against the
    validated models, with every field set, boards in the order added, and a next cursor."""
    first = save(store, shade=1, motifs=(4, 2), prompt='kawung "picis" ✓', tags=["Sogan", "é"])
    remix = save(store, shade=2, parent_id=first.id, title="Wedding cloth", notes="line\nbreak")
    store.update_design(ALICE, remix.id, {"favorite": True})
    # Added in descending id order: a page that sorted them by id would give them reversed.
    boards = sorted((store.create_board("alice", n).id for n in "abc"), reverse=True)
    for board in boards:
        store.add_to_board(ALICE, board, remix.id)
    for filters, limit in ((DesignFilter(), 1), (DesignFilter(), 50), (DesignFilter(motif=2), 5)):
        page = store.list_designs(ALICE, limit=limit, filters=filters)
        raw = store.list_designs_json(ALICE, limit=limit, filters=filters)
        assert DesignPage.model_validate_json(raw) == page
        assert page.designs, filters
        for design in json.loads(raw)["designs"]:
            assert set(design) == set(Design.model_fields)
    assert store.list_designs(ALICE, limit=1).next_cursor is not None
    newest, oldest = DesignPage.model_validate_json(store.list_designs_json(ALICE)).designs
    assert newest.board_ids == boards
    assert (newest.title, newest.notes, newest.favorite) == ("Wedding cloth", "line\nbreak", True)
    assert (newest.parent_id, newest.created_at) == (first.id, remix.created_at)
    assert (oldest.tags, oldest.motifs, oldest.prompt) == (["Sogan", "é"], [4, 2], first.prompt)
    assert (
        oldest.provenance
        == first.provenance
        == design_provenance('kawung "picis" ✓', [4, 2], seed=1)
    )


def test_a_board_pages_through_its_own_designs_among_many(store):
    """A board's page walks the board's index, not the owner's designs: the pages of a board
    holding a few of many designs are whole, in order, and hold only the board's."""
    designs = [save(store, shade=i) for i in range(12)]
    board = store.create_board("alice", "few")
    on_board = [designs[i] for i in (1, 4, 5, 10)]
    for design in reversed(on_board):  # added in another order than they were made
        store.add_to_board(ALICE, board.id, design.id)
    seen, cursor = [], None
    while True:
        page = store.list_designs(
            ALICE, limit=3, cursor=cursor, filters=DesignFilter(board=board.id)
        )
        seen += [d.id for d in page.designs]
        if (cursor := page.next_cursor) is None:
            break
    assert seen == [d.id for d in reversed(on_board)]
    empty = store.create_board("alice", "empty")
    assert store.list_designs(ALICE, filters=DesignFilter(board=empty.id)).designs == []
    theirs = store.create_board("bob", "bob's")
    store.add_to_board(BOB, theirs.id, save(store, "bob", shade=20).id)
    with pytest.raises(NotFoundError):
        store.list_designs(ALICE, filters=DesignFilter(board=theirs.id))
    with pytest.raises(NotFoundError):
        store.list_designs(ALICE, filters=DesignFilter(board="b_" + "0" * 20))
    assert len(store.list_designs(ADMIN, filters=DesignFilter(board=theirs.id)).designs) == 1


def test_owners_see_only_their_own_things_and_admins_see_all(store):
    mine = save(store, "alice", shade=1)
    theirs = save(store, "bob", shade=2)
    board = store.create_board("bob", "bob's board")
    assert [d.id for d in store.list_designs(ALICE).designs] == [mine.id]
    assert {d.id for d in store.list_designs(ADMIN).designs} == {mine.id, theirs.id}
    for call in (
        lambda: store.get_design(ALICE, theirs.id),
        lambda: store.update_design(ALICE, theirs.id, {"favorite": True}),
        lambda: store.delete_design(ALICE, theirs.id),
        lambda: store.image_path(ALICE, theirs.id),
        lambda: store.similar(ALICE, theirs.id),
        lambda: store.rename_board(ALICE, board.id, "mine now"),
        lambda: store.delete_board(ALICE, board.id),
        lambda: store.add_to_board(ALICE, board.id, mine.id),
        lambda: store.get_design(ALICE, "d_" + "0" * 20),
        lambda: store.get_design(ALICE, "../../etc/passwd"),
    ):
        with pytest.raises(NotFoundError):
            call()
    assert store.get_design(BOB, theirs.id).favorite is False  # nothing changed
    assert [b.id for b in store.list_boards(ALICE)] == []
    assert store.get_design(ADMIN, theirs.id).owner == "bob"
    store.rename_board(ADMIN, board.id, "renamed by admin")
    assert store.list_boards(BOB)[0].name == "renamed by admin"
    with pytest.raises(InvalidInputError, match="own owner"):
        store.add_to_board(ADMIN, board.id, mine.id)


def test_update_changes_only_what_it_names(store):
    design = save(store, title="first", tags=["a"])
    changed = store.update_design(ALICE, design.id, {"notes": "for the wedding", "tags": ["b"]})
    assert (changed.title, changed.notes, changed.tags) == ("first", "for the wedding", ["b"])
    cleared = store.update_design(ALICE, design.id, {"title": None})
    assert cleared.title is None and cleared.notes == "for the wedding"
    with pytest.raises(InvalidInputError):
        store.update_design(ALICE, design.id, {"favorite": None})


def test_remix_needs_a_parent_the_owner_can_see(store):
    parent = save(store, "alice", shade=1)
    child = save(store, "alice", shade=2, parent_id=parent.id)
    assert child.parent_id == parent.id
    with pytest.raises(InvalidInputError, match="parent_id"):
        save(store, "bob", shade=3, parent_id=parent.id)


def test_delete_removes_the_design_everywhere_and_its_files_unless_shared(store):
    first = save(store, shade=1)
    twin = save(store, shade=1)  # the same bytes (same seed, same settings): one file
    assert first.sha256 == twin.sha256
    board = store.create_board("alice", "b")
    store.add_to_board(ALICE, board.id, first.id)
    thumb = store.image_path(ALICE, first.id, 128)[0]
    store.delete_design(ALICE, first.id)
    with pytest.raises(NotFoundError):
        store.get_design(ALICE, first.id)
    assert first.id not in [d.id for d in store.list_designs(ALICE).designs]
    assert store.list_designs(ALICE, filters=DesignFilter(motif=1)).designs[0].id == twin.id
    assert store.list_boards(ALICE)[0].design_count == 0
    assert store.files.has(first.sha256)  # the twin still names it
    store.delete_design(ALICE, twin.id)
    assert not store.files.has(first.sha256) and not thumb.exists()
    assert store.stats() == (0, 0)


def test_thumbnails_are_made_once_and_kept(store):
    design = store.create_design(
        "alice", png=design_png(1, size=(600, 300)), provenance=design_provenance("x", [1])
    )
    path, etag = store.image_path(ALICE, design.id, 256)
    assert etag == f"{design.sha256}-256"
    made = path.stat().st_mtime_ns
    from PIL import Image

    with Image.open(path) as thumb:
        assert thumb.size == (256, 128)
    assert store.image_path(ALICE, design.id, 256)[0].stat().st_mtime_ns == made


def test_boards_count_their_designs_and_deleting_one_keeps_the_designs(store):
    design = save(store)
    board = store.create_board("alice", "sarongs")
    store.add_to_board(ALICE, board.id, design.id)
    store.add_to_board(ALICE, board.id, design.id)  # idempotent
    assert store.get_board(ALICE, board.id).design_count == 1
    assert store.get_design(ALICE, design.id).board_ids == [board.id]
    store.remove_from_board(ALICE, board.id, design.id)
    assert store.get_board(ALICE, board.id).design_count == 0
    store.add_to_board(ALICE, board.id, design.id)
    store.delete_board(ALICE, board.id)
    assert store.list_boards(ALICE) == []
    assert store.get_design(ALICE, design.id).board_ids == []


def test_quota_refuses_clearly_when_full_and_frees_on_delete(library_db_url, tmp_path):
    migrate.upgrade(library_db_url)
    store = LibraryStore(library_db_url, FileStore(tmp_path / "q"), max_designs_per_owner=2)
    try:
        first = save(store, shade=1)
        save(store, shade=2)
        with pytest.raises(QuotaExceededError, match="LIBRARY_MAX_DESIGNS_PER_OWNER"):
            save(store, shade=3)
        save(store, "bob", shade=4)  # per owner
        store.delete_design(ALICE, first.id)
        save(store, shade=5)
        assert len(store.list_designs(ALICE).designs) == 2
        assert store.sweep_files(grace_s=0) == 0  # the refused save left no file behind
    finally:
        store.close()


def test_retention_deletes_old_designs_but_keeps_favourites(store):
    day_us = 86_400 * 1_000_000
    old = save(store, shade=1, created_us=now_us() - 40 * day_us)
    old_favourite = save(store, shade=2, created_us=now_us() - 40 * day_us)
    store.update_design(ALICE, old_favourite.id, {"favorite": True})
    recent = save(store, shade=3, created_us=now_us() - 2 * day_us)
    assert store.sweep_retention(30) == 1
    assert {d.id for d in store.list_designs(ALICE).designs} == {old_favourite.id, recent.id}
    assert not store.files.has(old.sha256)


def test_sweep_removes_files_no_row_names_after_the_grace_period(store):
    kept = save(store, shade=1)
    orphan = store.files.put(design_png(99))  # a crash between file and row leaves this
    assert store.sweep_files(grace_s=3600) == 0  # maybe a save in flight: left alone
    assert store.sweep_files(grace_s=0) == 1
    assert not store.files.has(orphan) and store.files.has(kept.sha256)


def test_nearest_and_similar_rank_by_cosine_within_the_owner(store):
    east = save(store, shade=1, embedding=[1.0, 0.0, 0.0])
    north_east = save(store, shade=2, embedding=[0.7, 0.7, 0.0])
    north = save(store, shade=3, embedding=[0.0, 2.0, 0.0])  # stored normalised
    save(store, shade=4)  # no embedding: skipped
    save(store, "bob", shade=5, embedding=[1.0, 0.0, 0.0])
    hits = store.nearest(ALICE, [1.0, 0.1, 0.0], limit=2)
    assert [h.design.id for h in hits] == [east.id, north_east.id]
    assert hits[0].score == pytest.approx(0.995, abs=1e-3)
    assert [h.design.id for h in store.similar(ALICE, north.id)] == [north_east.id, east.id]
    assert len(store.nearest(ADMIN, [1.0, 0.0, 0.0], limit=10)) == 4
    assert store.nearest(ALICE, [1.0, 0.0], limit=5) == []  # another model's size: no match
    with pytest.raises(InvalidInputError):
        store.nearest(ALICE, [0.0, 0.0, 0.0])
    with pytest.raises(InvalidInputError, match="no embedding"):
        store.similar(ALICE, save(store, shade=6).id)


def test_a_reference_number_past_any_motif_is_not_recorded_as_one(store):
    """design_motifs.motif is an integer column: PostgreSQL refused 2**40 with a 500."""
    design = save(store, motifs=(3, 2**40, -1))
    assert design.motifs == [3]


def test_an_embedding_of_any_finite_size_keeps_its_direction(store):
    """Past float32 (1e39), below its smallest value (1e-46) or with a norm past float64 (1e200
    twice): each JSON number the spec allows is a direction, not a 422 or a zero vector."""
    north = save(store, shade=1, embedding=[0.0, 1e39])
    east = save(store, shade=2, embedding=[1e-46, 0.0])
    hits = store.nearest(ALICE, [1e200, 1e200], limit=2)
    assert {h.design.id for h in hits} == {north.id, east.id}
    assert [h.score for h in hits] == pytest.approx([0.7071, 0.7071], abs=1e-3)
    hits = store.nearest(ALICE, [-1e-300, 1e-300], limit=2)
    assert [h.design.id for h in hits] == [north.id, east.id]
    assert hits[0].score == pytest.approx(0.7071, abs=1e-3)
    assert hits[1].score == pytest.approx(-0.7071, abs=1e-3)


def test_nearest_follows_writes_of_this_process_and_of_another_replica(store, library_db_url):
    first = save(store, shade=1, embedding=[1.0, 0.0])
    assert [h.design.id for h in store.nearest(ALICE, [0.0, 1.0])] == [first.id]
    second = save(store, shade=2, embedding=[0.0, 1.0])  # patched in place
    assert store.nearest(ALICE, [0.0, 1.0])[0].design.id == second.id
    replica = LibraryStore(library_db_url, store.files)
    try:
        third = save(replica, shade=3, embedding=[-0.1, 1.0])
        replica.delete_design(ALICE, second.id)
    finally:
        replica.close()
    assert [h.design.id for h in store.nearest(ALICE, [0.0, 1.0])] == [third.id, first.id]
    # Built once; the replica's two writes were caught up by the difference of ids, not a rebuild.
    assert (store.embeddings.rebuilds, store.embeddings.refreshes) == (1, 1)
    assert len(store.nearest(ADMIN, [0.0, 1.0])) == 2
    save(store, "bob", shade=4, embedding=[0.0, 1.0])
    assert len(store.nearest(ADMIN, [0.0, 1.0])) == 3  # the admins' matrix follows too


def test_a_reopened_store_has_every_design_with_the_same_bytes(store, library_db_url):
    designs = [save(store, shade=i, embedding=[1.0, float(i)]) for i in range(3)]
    before = {d.id: store.files.read(d.sha256) for d in designs}
    store.close()
    reopened = LibraryStore(library_db_url, FileStore(store.files.root))
    try:
        assert [d.id for d in reopened.list_designs(ALICE).designs] == [d.id for d in designs][::-1]
        for design in designs:
            path, _ = reopened.image_path(ALICE, design.id)
            assert path.read_bytes() == before[design.id]
        assert len(reopened.nearest(ALICE, [1.0, 0.0])) == 3
    finally:
        reopened.close()


def test_a_chosen_id_saves_once_however_often_it_is_sent(store):
    """The gateway names a design before saving it and retries until the library answers: the same
    id again is the same design (one row, one count), and another owner cannot take it."""
    made = now_us() - 5_000_000
    first = save(store, "alice", shade=4, design_id="d_" + "a1" * 10, created_us=made)
    again = save(store, "alice", shade=4, design_id=first.id, created_us=made)
    assert again == first and first.id == "d_" + "a1" * 10
    assert first.created_at.timestamp() == pytest.approx(made / 1e6)
    assert [d.id for d in store.list_designs(ALICE).designs] == [first.id]
    assert store.stats()[0] == 1
    with pytest.raises(InvalidInputError, match="taken"):
        save(store, "bob", shade=5, design_id=first.id)
    with pytest.raises(InvalidInputError, match="not a design id"):
        save(store, "alice", shade=5, design_id="d_short")
    assert store.stats()[0] == 1 and store.get_design(ALICE, first.id).owner == "alice"


def test_a_full_library_still_answers_a_retried_save(library_db_url, tmp_path):
    """A save that committed but whose answer was lost is retried: it must not count twice, nor be
    refused by the quota it filled."""
    migrate.upgrade(library_db_url)
    full = LibraryStore(library_db_url, FileStore(tmp_path / "f"), max_designs_per_owner=1)
    try:
        first = save(full, "alice", shade=1, design_id="d_" + "b2" * 10)
        assert save(full, "alice", shade=1, design_id=first.id).id == first.id
        with pytest.raises(QuotaExceededError):
            save(full, "alice", shade=2)
    finally:
        full.close()


def test_connections_the_server_closed_are_replaced_before_a_request_uses_them(
    postgres_server, tmp_path
):
    """A PostgreSQL restart (here: every backend of the database terminated) leaves the pool's
    idle connections closed. Each is found at checkout and replaced: no request fails with 503,
    and nothing is lost (database.py's check instead of a SELECT 1 before every request)."""
    import psycopg

    url = postgres_server.new_database()
    migrate.upgrade(url)
    store = LibraryStore(url, FileStore(tmp_path / "files"), pool_size=3)
    try:
        kept = save(store, shade=1)
        with ThreadPoolExecutor(3) as pool:  # three connections idle in the pool
            list(pool.map(lambda _: store.list_designs(ALICE), range(12)))
        name = url.rsplit("/", 1)[1]
        with psycopg.connect(postgres_server.admin_url, autocommit=True) as admin:
            terminated = admin.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            ).fetchone()[0]
            assert terminated >= 1
            deadline = time.monotonic() + 10
            while admin.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (name,)
            ).fetchone()[0]:
                assert time.monotonic() < deadline, "the backends did not end"
                time.sleep(0.05)
        for _ in range(4):  # more requests than idle connections: every one is checked
            assert [d.id for d in store.list_designs(ALICE).designs] == [kept.id]
            assert json.loads(store.list_designs_json(ALICE))["designs"][0]["id"] == kept.id
        assert store.get_design(ALICE, kept.id) == kept
        assert save(store, shade=2).id in {d.id for d in store.list_designs(ALICE).designs}
    finally:
        store.close()
        postgres_server.drop_database(url)


def test_nan_and_infinity_in_provenance_are_saved_and_paged_as_null(store):
    """A page passes each provenance on as the database's text, which must stay JSON."""

    def refuse(constant):
        raise AssertionError(f"{constant} is not JSON")

    provenance = {**design_provenance("kawung", [1], seed=1), "scores": [math.nan, math.inf]}
    design = store.create_design("alice", png=design_png(1), provenance=provenance)
    page = json.loads(store.list_designs_json(ALICE), parse_constant=refuse)
    assert page["designs"][0]["provenance"]["scores"] == [None, None]
    assert store.get_design(ALICE, design.id).provenance["scores"] == [None, None]


def test_0003_writes_provenance_that_held_nan_again_as_json(tmp_path):
    """Only SQLite could hold the `NaN` the writer used to write (PostgreSQL's json refused it)."""
    from sqlalchemy import text

    url = f"sqlite:///{tmp_path}/library.sqlite3"
    migrate.upgrade(url, "0002")
    engine = create_engine(url)
    held = {
        "d_" + "1" * 20: '{"scores":[NaN,Infinity,-Infinity],"prompt":"NaN stays a word"}',
        "d_" + "2" * 20: '{"prompt":"no numbers at all"}',
    }
    with engine.begin() as connection:
        for design_id, provenance in held.items():
            _insert_design_row(connection, design_id, provenance=provenance)
    migrate.upgrade(url)
    with engine.connect() as connection:
        now = dict(connection.execute(text("SELECT id, provenance FROM designs")).all())
    engine.dispose()
    assert json.loads(now["d_" + "1" * 20]) == {
        "scores": [None, None, None],
        "prompt": "NaN stays a word",
    }
    assert now["d_" + "2" * 20] == held["d_" + "2" * 20]  # untouched


def test_a_replica_of_the_previous_release_can_still_add_to_a_board_on_postgresql(
    postgres_server, tmp_path
):
    """During a rolling update, replicas that do not know `created_us` still insert board rows
    (0002's trigger fills it from the design); the board's page then has the design."""
    from sqlalchemy import text

    url = postgres_server.new_database()
    migrate.upgrade(url)
    store = LibraryStore(url, FileStore(tmp_path / "files"))
    try:
        design, board = save(store, shade=1), store.create_board("alice", "old replica's")
        with store.engine.begin() as connection:  # what the previous release wrote
            connection.execute(
                text(
                    "INSERT INTO board_designs (board_id, design_id, added_us) VALUES (:b, :d, 5)"
                ),
                {"b": board.id, "d": design.id},
            )
        page = store.list_designs(ALICE, filters=DesignFilter(board=board.id))
        assert [d.id for d in page.designs] == [design.id]
        assert page.designs[0].board_ids == [board.id]
    finally:
        store.close()
        postgres_server.drop_database(url)
