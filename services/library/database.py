"""The library's SQLAlchemy engine: SQLite for one node, PostgreSQL for deployments.

SQLite runs in WAL mode with write transactions begun IMMEDIATE (`WRITE` below), so writers queue
on the busy timeout instead of failing on a lock upgrade. PostgreSQL's pool checks a connection at
checkout without a round trip: `pool_pre_ping` would send a `SELECT 1` before every request (about
0.5 ms of a page's 4 on the development machine, docs/BENCHMARKS.md).
"""

from __future__ import annotations

import select
from typing import Any

import pydantic_core
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError

from services.library.migrate import database_url

WRITE = {"library_write": True}  # execution options of the engine's writing copy


def library_engine(db_url: str, *, pool_size: int = 5) -> Engine:
    url = database_url(db_url)
    # pydantic-core's JSON (Rust) reads and writes provenance several times faster than `json`.
    # NaN and infinities are written as null, as the API's models write them: the text must be
    # JSON, because a page passes it on as it is (and PostgreSQL's json type refuses `NaN`).
    options: dict[str, Any] = {
        "json_deserializer": pydantic_core.from_json,
        "json_serializer": lambda value: pydantic_core.to_json(value, inf_nan_mode="null").decode(),
    }
    if url.startswith("sqlite"):
        engine = create_engine(url, **options)
        _configure_sqlite(engine)
    else:
        engine = create_engine(url, pool_size=pool_size, max_overflow=pool_size, **options)
        _discard_connections_the_server_closed(engine)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves (below)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")  # a commit that returned survives a power cut
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:
        immediate = connection.get_execution_options().get("library_write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _discard_connections_the_server_closed(engine: Engine) -> None:
    """An idle connection has nothing to read unless the server closed it (a restart, a failover,
    `pg_terminate_backend`) or sent what nobody asked for: either way the pool discards it and
    checks out another (SQLAlchemy's documented DisconnectionError protocol). A connection that
    breaks in the middle of a request still fails that request (503) and SQLAlchemy then
    invalidates the pool, as it would with pre-ping."""

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection, _record, _proxy) -> None:
        try:
            waiting = select.poll()  # poll, not select: a busy process has descriptors past 1023
            waiting.register(dbapi_connection.fileno(), select.POLLIN)
            closed = bool(waiting.poll(0))
        except (OSError, ValueError) as exc:  # a descriptor already gone
            raise DisconnectionError(f"this idle connection is unusable ({exc})") from exc
        if closed:
            raise DisconnectionError("the server closed this idle connection")
