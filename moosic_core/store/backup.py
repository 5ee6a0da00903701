"""Backing up and restoring the SQLite database with SQLite's online backup API.

Copying ``moosic.sqlite3`` with ``cp`` while the bot runs is unsafe: recent commits may still be
in ``moosic.sqlite3-wal`` and a copy taken mid-write can be torn. :func:`backup` uses
``sqlite3.Connection.backup`` (SQLite's online backup API, https://sqlite.org/backup.html): it
reads a consistent snapshot through SQLite itself, WAL included, while the bot keeps running,
and writes one self-contained file (journal mode DELETE, no -wal beside it), owner-only (0600).

:func:`restore` checks the backup (integrity, schema version), refuses while any process has
the database open (the bot holds a shared ``flock`` on ``<database>.lock``, see
:mod:`moosic_core.store.db`), keeps the current file as ``<database>.before-restore-<time>``,
and copies the backup in through the same API, so the live file's -wal and -shm stay consistent.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from moosic_core.errors import DataError
from moosic_core.store.db import create_private, open_lock
from moosic_core.store.migrations import SCHEMA_VERSION

PAGES_PER_STEP = 1024  # copy in steps, so a running bot's writers are not held up for long


@dataclass(frozen=True)
class BackupInfo:
    """What a backup holds: its path, size in bytes, schema version and users."""

    path: Path
    bytes: int
    schema: int
    users: int


def _copy(source: sqlite3.Connection, target: sqlite3.Connection) -> None:
    source.backup(target, pages=PAGES_PER_STEP, sleep=0.005)


def inspect(path: Path) -> BackupInfo:
    """Open a database file read-only and check it; :class:`DataError` when it is unusable."""
    if not path.is_file():
        raise DataError(f"No database file at {path}.")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            check = conn.execute("PRAGMA integrity_check").fetchone()
            schema = int(conn.execute("PRAGMA user_version").fetchone()[0])
            users = int(conn.execute("SELECT COUNT(*) FROM users").fetchone()[0])
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise DataError(f"{path} is not a Moo-Sic database: {exc}") from None
    if not check or check[0] != "ok":
        raise DataError(f"{path} is damaged (integrity check: {check and check[0]}).")
    if schema > SCHEMA_VERSION:
        raise DataError(f"{path} is from a newer Moo-Sic (schema {schema} > {SCHEMA_VERSION}); "
                        "upgrade Moo-Sic before restoring it.")
    return BackupInfo(path, path.stat().st_size, schema, users)


def _same_file(a: Path, b: Path) -> bool:
    """Whether ``a`` and ``b`` name one file (through links, ``..`` or hard links)."""
    if a.exists() and b.exists():
        return os.path.samefile(a, b)
    return a.resolve() == b.resolve()


def _is_live_database(path: Path, database: Path) -> bool:
    """Whether ``path`` is the live database or one of its companion files (-wal, -shm, .lock)."""
    companions = [database] + [database.with_name(database.name + suffix)
                               for suffix in ("-wal", "-shm", "-journal", ".lock")]
    return any(_same_file(path, other) for other in companions)


def backup_target(database: Path, target: str | Path, force: bool = False) -> Path:
    """Where ``moosic db backup TARGET`` writes: ``target`` itself, or a dated
    ``moosic-YYYYmmdd-HHMMSS.sqlite3`` inside it when it is an existing folder or ends in "/".

    Raises :class:`DataError` (in words, nothing written) when the folder does not exist (it is
    never created silently), when the file exists and ``force`` is False, or when the target is
    the live database or one of its companion files.
    """
    text = str(target)
    path = Path(text).expanduser()
    if text.endswith(("/", os.sep)) or path.is_dir():
        if not path.is_dir():
            raise DataError(f"The folder {path} does not exist; create it first "
                            f"(mkdir -p {path}) or give another one.")
        path = path / time.strftime("moosic-%Y%m%d-%H%M%S.sqlite3")
    if not path.parent.is_dir():
        raise DataError(f"The folder {path.parent} does not exist; create it first "
                        f"(mkdir -p {path.parent}) or give another one.")
    if _is_live_database(path, database):
        raise DataError(f"{path} is the live database itself (config paths.database); give "
                        "another file or folder for the backup.")
    if path.exists() and not force:
        raise DataError(f"{path} already exists; give a new file name or a folder, or add "
                        "--force to replace it.")
    return path


def backup(database: Path, target: str | Path, force: bool = False) -> BackupInfo:
    """Write a consistent copy of ``database`` to ``target`` (see :func:`backup_target`: a file,
    or an existing folder for a time-stamped one). Safe while the bot runs.

    Raises :class:`DataError` when there is no database, or the target is refused."""
    if not database.is_file():
        raise DataError(f"No database at {database} (config paths.database); nothing to back up.")
    path = backup_target(database, target, force)
    partial = path.with_name(f".{path.name}.partial")
    partial.unlink(missing_ok=True)
    os.close(os.open(partial, os.O_CREAT | os.O_WRONLY, 0o600))
    source = sqlite3.connect(database, timeout=30)
    try:
        copy = sqlite3.connect(partial)
        try:
            _copy(source, copy)
            copy.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
        finally:
            copy.close()
    except sqlite3.Error as exc:
        partial.unlink(missing_ok=True)
        raise DataError(f"The backup of {database} failed: {exc}") from None
    finally:
        source.close()
    os.replace(partial, path)
    return inspect(path)


def restore(source: Path, database: Path) -> tuple[BackupInfo, Path | None]:
    """Replace ``database``'s contents by the backup ``source``.

    Returns the restored file's info and where the replaced contents were kept (None when
    there was no database). Raises :class:`DataError` when the backup is unusable or the
    database is open in another process (stop the bot first).
    """
    if source.is_dir():
        raise DataError(f"{source} is a folder; give the backup file inside it "
                        "(written by `moosic db backup`).")
    if source.exists() and _is_live_database(source, database):
        raise DataError(f"{source} is the live database itself (config paths.database); give "
                        "a backup file written by `moosic db backup`.")
    inspect(source)  # refuse a damaged or newer backup before touching anything
    create_private(database)
    try:
        lock = open_lock(database, exclusive=True)
    except BlockingIOError:
        raise DataError(f"The database {database} is in use (a running bot or another moosic "
                        "command); stop it first, e.g. `systemctl stop moosic`.") from None
    try:
        kept: Path | None = None
        live = sqlite3.connect(database, timeout=30)
        try:
            has_data = live.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0] > 0
            if has_data:
                kept = database.with_name(
                    f"{database.name}.before-restore-{time.strftime('%Y%m%d-%H%M%S')}")
                backup(database, kept)
            with contextlib.closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as src:
                _copy(src, live)
            live.execute("PRAGMA journal_mode = WAL")
            live.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            live.close()
    finally:
        os.close(lock)
    return inspect(database), kept
