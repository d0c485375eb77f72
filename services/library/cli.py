"""`batik db upgrade` and `batik designs export|import`: the library's operations from a shell.

The database and file store come from the library's settings (LIBRARY_DB_URL, LIBRARY_DIR), or from
--db-url / --dir, so an export from one database can be imported into another.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def _settings(args: argparse.Namespace):
    from services.library.config import LibrarySettings

    overrides = {}
    if getattr(args, "db_url", None):
        overrides["db_url"] = args.db_url
    if getattr(args, "dir", None):
        overrides["dir"] = Path(args.dir)
    return LibrarySettings(**overrides)


def _db_upgrade(args: argparse.Namespace) -> int:
    from services.library import migrate

    settings = _settings(args)
    migrate.upgrade(settings.database_url)
    print(f"database at revision {migrate.current_revision(settings.database_url)} (head)")
    return 0


def _open(args: argparse.Namespace):
    from services.library import migrate
    from services.library.files import FileStore
    from services.library.store import LibraryStore

    settings = _settings(args)
    migrate.upgrade(settings.database_url)
    return LibraryStore(settings.database_url, FileStore(settings.dir))


def _designs_export(args: argparse.Namespace) -> int:
    from services.library.transfer import export_library

    store = _open(args)
    try:
        counts = export_library(store, Path(args.out))
    finally:
        store.close()
    print(json.dumps({"out": args.out, **counts}))
    return 0


def _designs_import(args: argparse.Namespace) -> int:
    from services.common.errors import InvalidInputError
    from services.library.transfer import import_library

    store = _open(args)
    try:
        counts = import_library(store, Path(args.archive))
    except InvalidInputError as exc:
        print(f"error: {exc}")
        return 2
    finally:
        store.close()
    print(json.dumps({"imported": counts}))
    return 0


def _target(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db-url", help="database URL (default: LIBRARY_DB_URL)")
    parser.add_argument("--dir", help="file store directory (default: LIBRARY_DIR)")


def add_commands(commands) -> None:
    db = commands.add_parser("db", help="the design library's database")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    upgrade = db_sub.add_parser("upgrade", help="apply the migrations up to head (idempotent)")
    _target(upgrade)
    upgrade.set_defaults(func=_db_upgrade)

    designs = commands.add_parser("designs", help="back up or move the design library")
    designs_sub = designs.add_subparsers(dest="designs_command", required=True)
    export = designs_sub.add_parser("export", help="every design, board and file into one tar")
    export.add_argument("--out", required=True, help="the tar file to write")
    _target(export)
    export.set_defaults(func=_designs_export)
    restore = designs_sub.add_parser(
        "import", help="add an export's designs, boards and files (what exists is skipped)"
    )
    restore.add_argument("archive", help="a tar written by `batik designs export`")
    _target(restore)
    restore.set_defaults(func=_designs_import)
