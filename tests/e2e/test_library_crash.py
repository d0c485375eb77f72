"""kill -9 of a real library process during a save leaves the whole design or nothing, and a restart
loses nothing that was saved (SQLite and PostgreSQL).

The save is caught in flight deterministically: the test holds the database's write lock (SQLite:
BEGIN IMMEDIATE; PostgreSQL: the owner's row FOR UPDATE), so the library writes the PNG and then waits
to commit; the test sees the new file appear and SIGKILLs the process right there.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import sqlite3
import threading
import time
from pathlib import Path

import httpx
import pytest

from services.launcher import ServiceProcess, wait_ready
from services.library.migrate import database_url
from tests.helpers import b64, design_png, design_provenance, free_port

pytestmark = pytest.mark.e2e
OWNER = {"X-Owner-Id": "key-crash"}


class Library:
    """One uvicorn process of the library on a free port; restartable on the same data."""

    def __init__(self, db_url: str, root: Path) -> None:
        self.db_url, self.root = db_url, root
        self.process: ServiceProcess | None = None

    def start(self) -> Library:
        self.process = ServiceProcess(
            "library",
            "services.library.app:app",
            free_port(),
            {
                "LIBRARY_DIR": str(self.root / "files"),
                "LIBRARY_DB_URL": self.db_url,
                "LIBRARY_SWEEP_GRACE_S": "0",  # at start: every file no row names is garbage
                "OMP_NUM_THREADS": "1",
            },
        )
        self.process.start(dict(os.environ), self.root / "logs")
        wait_ready([self.process], deadline_s=60)
        return self

    @property
    def url(self) -> str:
        assert self.process
        return self.process.url

    def kill9(self) -> None:
        assert self.process and self.process.process
        os.kill(self.process.process.pid, signal.SIGKILL)
        self.process.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process:
            self.process.stop()


def save(url: str, shade: int) -> httpx.Response:
    return httpx.post(
        f"{url}/v1/designs",
        json={
            "image_b64": b64(design_png(shade, size=(256, 256))),
            "provenance": design_provenance("kawung", [shade % 5], seed=shade),
            "embedding": [1.0, float(shade)],
        },
        headers=OWNER,
        timeout=30,
    )


def _save_until_killed(url: str) -> None:
    with contextlib.suppress(httpx.HTTPError):  # the process dies under it: no answer
        save(url, 100)


@contextlib.contextmanager
def write_lock_held(db_url: str):
    """Hold the database's write lock the library needs to commit a save."""
    if db_url.startswith("sqlite:///"):
        connection = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None)
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            connection.execute("ROLLBACK")
            connection.close()
        return
    import psycopg

    with psycopg.connect(database_url(db_url).replace("+psycopg", "")) as connection:
        connection.execute(
            "SELECT 1 FROM owner_state WHERE owner = %s FOR UPDATE", (OWNER["X-Owner-Id"],)
        )
        yield
        connection.rollback()


def object_files(root: Path) -> set[Path]:
    return {p for p in (root / "files" / "objects").glob("*/*.png")}


def designs(url: str) -> list[dict]:
    found, cursor = [], None
    while True:
        page = httpx.get(
            f"{url}/v1/designs", params={"limit": 100, **({"cursor": cursor} if cursor else {})},
            headers=OWNER,
        ).json()  # fmt: skip
        found += page["designs"]
        if not (cursor := page["next_cursor"]):
            return found


def assert_consistent(library: Library) -> list[dict]:
    """Every row has its whole file (same sha256, decodable), and no file lacks a row."""
    listed = designs(library.url)
    for design in listed:
        image = httpx.get(f"{library.url}{design['url']}", headers=OWNER)
        assert image.status_code == 200
        assert hashlib.sha256(image.content).hexdigest() == design["sha256"]
    names = {p.name.removesuffix(".png") for p in object_files(library.root)}
    assert names == {d["sha256"] for d in listed}
    return listed


def test_kill_9_during_a_save_leaves_the_whole_design_or_nothing(library_db_url, tmp_path):
    library = Library(library_db_url, tmp_path).start()
    try:
        kept = [save(library.url, shade).json() for shade in range(3)]  # answered 201: committed
        assert all("id" in design for design in kept)
        before = object_files(tmp_path)

        # 1. Killed between the file and the commit: the file is there, the row is not.
        with write_lock_held(library_db_url):
            in_flight = threading.Thread(
                target=_save_until_killed, args=(library.url,), daemon=True
            )
            in_flight.start()
            deadline = time.monotonic() + 20
            while not (object_files(tmp_path) - before):
                assert time.monotonic() < deadline, "the save never wrote its file"
                time.sleep(0.01)
            library.kill9()
        in_flight.join(timeout=30)
        library.start()  # the start sweep removes the file no row names
        listed = assert_consistent(library)
        assert [d["id"] for d in listed] == [d["id"] for d in kept][::-1]

        # 2. Killed at arbitrary moments of a stream of saves: each is whole or absent.
        answered: list[str] = []
        for round_delay in (0.05, 0.2, 0.4):
            stop = threading.Event()

            def stream(stop=stop, base=len(answered) * 10 + 1000):
                shade = base
                while not stop.is_set():
                    try:
                        answer = save(library.url, shade)
                    except httpx.HTTPError:
                        return
                    if answer.status_code == 201:
                        answered.append(answer.json()["id"])
                    shade += 1

            writer = threading.Thread(target=stream, daemon=True)
            writer.start()
            time.sleep(round_delay)
            library.kill9()
            stop.set()
            writer.join(timeout=30)
            library.start()
            listed = assert_consistent(library)
            ids = {d["id"] for d in listed}
            assert set(answered) <= ids  # every 201 survived
            assert {d["id"] for d in kept} <= ids
    finally:
        library.stop()


def test_a_restart_loses_nothing_and_serves_the_same_bytes(library_db_url, tmp_path):
    library = Library(library_db_url, tmp_path).start()
    try:
        saved = [save(library.url, shade).json() for shade in range(4)]
        board = httpx.post(f"{library.url}/v1/boards", json={"name": "b"}, headers=OWNER).json()
        httpx.put(f"{library.url}/v1/boards/{board['id']}/designs/{saved[0]['id']}", headers=OWNER)
        images = {
            d["id"]: httpx.get(f"{library.url}{d['url']}", headers=OWNER).content for d in saved
        }
        library.stop()  # an orderly stop, then a kill of the next one: both lose nothing
        library.start()
        library.kill9()
        library.start()
        listed = assert_consistent(library)
        assert {d["id"] for d in listed} == set(images)
        for design in listed:
            assert (
                httpx.get(f"{library.url}{design['url']}", headers=OWNER).content
                == images[design["id"]]
            )
        assert [d["id"] for d in listed if d["board_ids"] == [board["id"]]] == [saved[0]["id"]]
        near = httpx.post(
            f"{library.url}/v1/designs/nearest", json={"embedding": [1.0, 0.0]}, headers=OWNER
        ).json()
        assert len(near["designs"]) == 4
    finally:
        library.stop()
