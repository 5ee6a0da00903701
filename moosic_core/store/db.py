"""The SQLite connection layer: WAL, migrations, one writer, retries on ``database is locked``.

All writes in this process go through one connection guarded by an ``asyncio.Lock`` and run as
``BEGIN IMMEDIATE`` transactions, so chats never interleave half-done writes. Another process
(the CLI next to a running bot) may hold the write lock for a moment: SQLite's busy timeout
waits for it, and a transaction that still finds the file locked is retried with backoff.
Reads use a second connection, which under WAL sees the last committed state and never waits.

Files: the database's directory is created 0700 and the file 0600 (SQLite gives its ``-wal``
and ``-shm`` files the database file's mode), since it holds encrypted Spotify tokens and what
users told the bot. While open, the process holds a shared ``flock`` on ``<database>.lock``, so
``moosic db restore`` (which needs it exclusively) refuses to replace a file in use.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import random
import sqlite3
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from moosic_core.errors import Busy, DataError
from moosic_core.store.migrations import MIGRATIONS, SCHEMA_VERSION

log = logging.getLogger(__name__)
T = TypeVar("T")


def lock_path(path: Path) -> Path:
    """The lock file that says a process has the database open."""
    return path.with_name(path.name + ".lock")


def create_private(path: Path) -> None:
    """Create the database's directory (0700) and file (0600) when missing.

    An existing file that others may read is tightened to 0600 (with a warning); an existing
    directory is left as it is (it may be the project's shared ``data/``).
    """
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True)
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        os.chmod(path, 0o600)
        log.warning("database %s was readable by others (%o); now 0600", path, mode)


def open_lock(path: Path, exclusive: bool) -> int:
    """An fd holding ``flock`` on the database's lock file; BlockingIOError when it is taken."""
    lock = lock_path(path)
    fd = os.open(lock, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _is_lock_error(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


class Database:
    """An open SQLite database file with the schema migrated to the latest version."""

    def __init__(self, path: Path, *, busy_timeout_s: float = 5.0, lock_retries: int = 6) -> None:
        self.path = Path(path)
        self.busy_timeout_s = busy_timeout_s
        self.lock_retries = lock_retries
        self._writer: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._write_lock = asyncio.Lock()
        self._lock_fd: int | None = None

    @property
    def is_open(self) -> bool:
        return self._writer is not None and self._reader is not None

    async def _connect(self) -> aiosqlite.Connection:
        conn = await aiosqlite.connect(self.path, isolation_level=None,
                                       timeout=self.busy_timeout_s)
        await conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_s * 1000)}")
        await conn.execute("PRAGMA foreign_keys = ON")
        return conn

    async def open(self) -> None:
        """Create or open the file, switch to WAL and apply pending migrations."""
        if self._writer is not None:
            return
        try:
            create_private(self.path)
            self._lock_fd = open_lock(self.path, exclusive=False)
        except BlockingIOError:
            raise DataError(f"The database {self.path} is being restored; try again when "
                            "`moosic db restore` has finished.") from None
        except OSError as exc:
            raise DataError(f"The database {self.path} cannot be created: {exc}") from None
        try:
            writer = await self._connect()
        except sqlite3.Error as exc:
            self._unlock()
            raise DataError(f"The database {self.path} cannot be opened: {exc}") from None
        try:
            await writer.execute("PRAGMA journal_mode = WAL")
            await writer.execute("PRAGMA synchronous = NORMAL")
            self._writer = writer
            await self._migrate()
            self._reader = await self._connect()
        except BaseException as exc:
            await writer.close()
            self._writer = None
            self._unlock()
            if isinstance(exc, sqlite3.DatabaseError):
                raise DataError(f"The database {self.path} is not usable: {exc}") from None
            raise

    async def close(self) -> None:
        for conn in (self._reader, self._writer):
            if conn is not None:
                await conn.close()
        self._reader = self._writer = None
        self._unlock()

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # releases the flock
            self._lock_fd = None

    async def _migrate(self) -> None:
        async def step(conn: aiosqlite.Connection) -> int:
            async with conn.execute("PRAGMA user_version") as cur:
                row = await cur.fetchone()
            current = int(row[0]) if row else 0
            if current > SCHEMA_VERSION:
                raise DataError(f"The database {self.path} is from a newer version of Moo-Sic "
                                f"(schema {current} > {SCHEMA_VERSION}).")
            for number in range(current + 1, SCHEMA_VERSION + 1):
                for statement in _statements(MIGRATIONS[number - 1]):
                    await conn.execute(statement)
                await conn.execute(f"PRAGMA user_version = {number}")
                log.info("database %s migrated to schema %d", self.path.name, number)
            return current

        await self.transaction(step)

    @property
    def writer(self) -> aiosqlite.Connection:
        if self._writer is None:
            raise RuntimeError("the database is not open")
        return self._writer

    @property
    def reader(self) -> aiosqlite.Connection:
        if self._reader is None:
            raise RuntimeError("the database is not open")
        return self._reader

    async def transaction(self, body: Callable[[aiosqlite.Connection], Awaitable[T]]) -> T:
        """Run ``body`` in one write transaction; retried whole if the file is locked."""
        async with self._write_lock:
            conn = self.writer
            for attempt in range(self.lock_retries + 1):
                try:
                    await conn.execute("BEGIN IMMEDIATE")
                except sqlite3.OperationalError as exc:
                    if not _is_lock_error(exc) or attempt == self.lock_retries:
                        raise Busy(detail=f"database locked: {exc}") from None
                    await asyncio.sleep(_backoff(attempt))
                    continue
                try:
                    result = await body(conn)
                    await conn.execute("COMMIT")
                    return result
                except sqlite3.OperationalError as exc:
                    await conn.execute("ROLLBACK")
                    if not _is_lock_error(exc) or attempt == self.lock_retries:
                        raise
                    log.warning("database locked, retrying (%d)", attempt + 1)
                    await asyncio.sleep(_backoff(attempt))
                except BaseException:
                    await conn.execute("ROLLBACK")
                    raise
            raise Busy(detail="database locked")  # pragma: no cover - loop always returns

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Row | None:
        async with self.reader.execute(sql, tuple(params)) as cur:
            row = await cur.fetchone()
        return row

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[Any]:
        async with self.reader.execute(sql, tuple(params)) as cur:
            rows = await cur.fetchall()
        return list(rows)


def _backoff(attempt: int) -> float:
    return float(min(2.0, 0.05 * 2**attempt) * (0.5 + random.random()))


def _statements(script: str) -> list[str]:
    """Split a migration script into statements (no semicolons inside our statements)."""
    lines = [ln for ln in script.splitlines() if not ln.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
