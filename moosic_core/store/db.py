"""The connection layer over SQLAlchemy's asyncio engine: SQLite (default) or PostgreSQL.

Both run the same SQL (SQLAlchemy ``text()`` with named parameters, in the common subset of
the two dialects: ``INSERT ... ON CONFLICT``, no ``INSERT OR REPLACE``) and the same Alembic
revisions (:mod:`moosic_core.store.migrations`), applied when the store opens.

SQLite (``paths.database``, the embedded default; driver aiosqlite): all writes in this process
go through one connection guarded by an ``asyncio.Lock`` and run as ``BEGIN IMMEDIATE``
transactions, so chats never interleave half-done writes. Another process (the CLI next to a
running bot) may hold the write lock for a moment: SQLite's busy timeout waits for it, and a
transaction that still finds the file locked is retried whole with backoff. Reads use other
connections, which under WAL see the last committed state and never wait. The database's
directory is created 0700 and the file 0600 (SQLite gives its ``-wal`` and ``-shm`` files the
database file's mode), since it holds encrypted Spotify tokens and what users told the bot.
While open, the process holds a shared ``flock`` on ``<database>.lock``, so ``moosic db
restore`` (which needs it exclusively) refuses to replace a file in use.

PostgreSQL (``store.database_url``, e.g. ``postgresql://moosic@/moosic?host=/run/postgresql``;
driver asyncpg): a connection pool, writes in concurrent READ COMMITTED transactions, a
transaction that hits a deadlock or serialization failure is retried whole with backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from moosic_core.errors import Busy, ConfigError, DatabaseUnreachable, DataError
from moosic_core.store.migrations import upgrade

log = logging.getLogger(__name__)
#: SQL parameters (users' stored values) never appear in logs or error messages; SQLAlchemy's
#: own statement logging is kept off too (no ``echo``; see ``moosic_core.logs.SILENT_LOGGERS``).
HIDE_PARAMETERS = True
T = TypeVar("T")
Params = Mapping[str, Any] | Sequence[Mapping[str, Any]]

RETRIED_PG_STATES = frozenset({"40001", "40P01"})  # serialization failure, deadlock detected
POSTGRES_POOL_SIZE = 10
#: SQLSTATEs that say the server cannot be used NOW but may be soon (PostgreSQL's appendix A,
#: https://www.postgresql.org/docs/current/errcodes-appendix.html): class 08 (connection
#: exception), 57P01-57P03 (shutting down, crashed, starting up) and 53300 (too many
#: connections).
UNREACHABLE_PG_STATES = frozenset({"57P01", "57P02", "57P03", "53300"})
UNREACHABLE_PG_CLASSES = ("08",)
#: How long opening one PostgreSQL connection may take (seconds; asyncpg's default is 60).
CONNECT_TIMEOUT_S = 10.0
#: Replicas over one PostgreSQL compare their wall clocks (update and round leases, round
#: timers): a process whose clock is further than this (seconds) from the server's is named in
#: the operator's log when it opens the store.
MAX_CLOCK_SKEW_S = 2.0
#: The wall clock compared with the server's (a test replaces it).
wall_clock: Callable[[], float] = time.time


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


def database_url(target: Path | str) -> URL:
    """The SQLAlchemy URL for a SQLite file path or a ``postgresql://`` / ``sqlite:///`` URL.

    Raises :class:`ConfigError` for anything else (the message never shows a password)."""
    if isinstance(target, Path):
        return URL.create("sqlite+aiosqlite", database=str(target))
    try:
        url = make_url(target)
        url.port  # noqa: B018 - parsed lazily: "host:notaport" raises ValueError here
    except (ArgumentError, ValueError):
        raise ConfigError("Config key store.database_url is not a database URL; use "
                          "postgresql://USER:PASSWORD@HOST:PORT/DB or "
                          "postgresql://USER@/DB?host=/socket/dir") from None
    if url.get_backend_name() in ("postgresql", "postgres"):
        return url.set(drivername="postgresql+asyncpg")
    if url.get_backend_name() == "sqlite" and url.database:
        return url.set(drivername="sqlite+aiosqlite")
    raise ConfigError(f"Config key store.database_url: {url.get_backend_name()!r} databases "
                      "are not supported; use postgresql://... (or leave it empty for the "
                      "SQLite file paths.database)")


def is_unreachable(exc: BaseException) -> bool:
    """Whether ``exc`` says the database server cannot be reached now (a failure that waiting
    may fix): :class:`DatabaseUnreachable`, an ``OSError`` (refused, no socket, timed out, reset),
    a SQLAlchemy error whose connection was invalidated, or a PostgreSQL error with a SQLSTATE
    of :data:`UNREACHABLE_PG_CLASSES` / :data:`UNREACHABLE_PG_STATES`, anywhere in its chain of
    causes (``orig``, ``__cause__``, ``__context__``). False for everything else: a wrong
    database name, user or password, bad SQL, a full disk.

    The one test for "the database is down" used by start-up, the health check, the Telegram
    webhook and the group-round sweeper."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, DatabaseUnreachable | OSError):
            return True
        if isinstance(current, DBAPIError) and current.connection_invalidated:
            return True
        state = getattr(current, "sqlstate", None) or getattr(current, "pgcode", None)
        if isinstance(state, str) and (state in UNREACHABLE_PG_STATES
                                       or state.startswith(UNREACHABLE_PG_CLASSES)):
            return True
        orig = getattr(current, "orig", None)
        todo.extend((orig if isinstance(orig, BaseException) else None,
                     current.__cause__, current.__context__))
    return False


def describe_unreachable(exc: BaseException) -> str:
    """A one-line reason for an unreachable database (for a log line; no traceback)."""
    reason = getattr(exc, "orig", None) or exc
    text = " ".join(str(reason).split())
    return f"{type(reason).__name__}: {text}" if text else type(reason).__name__


def log_failure(logger: logging.Logger, what: str, exc: BaseException,
                level: int = logging.ERROR, then: str = "") -> None:
    """Log "``what`` failed``then``" (e.g. "sweeping group rounds", "; trying again in 1 s"):
    one WARNING line without a traceback, saying so, when the database is unreachable
    (:func:`is_unreachable`; an outage would otherwise fill the log with tracebacks), else at
    ``level`` with ``exc``'s traceback."""
    if is_unreachable(exc):
        logger.warning("%s failed%s: the database is unreachable (%s)", what, then,
                       describe_unreachable(exc))
    else:
        logger.log(level, "%s failed%s", what, then, exc_info=exc)


def _is_lock_error(exc: BaseException | None) -> bool:
    message = str(exc).lower()
    return "locked" in message or "busy" in message


class Database:
    """An open database (SQLite file or PostgreSQL) with the schema migrated to the latest.

    ``target``: a SQLite file path, or a ``postgresql://`` URL. Raises :class:`ConfigError`
    for an unusable URL (at construction) and :class:`DataError` when opening fails.
    """

    def __init__(self, target: Path | str, *, busy_timeout_s: float = 5.0,
                 lock_retries: int = 6) -> None:
        self.url = database_url(target)
        self.dialect = "sqlite" if self.url.get_backend_name() == "sqlite" else "postgresql"
        #: The SQLite file (None for PostgreSQL).
        self.path: Path | None = (Path(self.url.database or "") if self.dialect == "sqlite"
                                  else None)
        self.busy_timeout_s = busy_timeout_s
        self.lock_retries = lock_retries
        self._writer: AsyncEngine | None = None
        self._reader: AsyncEngine | None = None
        # SQLite has one writer per file: serialise this process's writes before BEGIN.
        self._write_lock: asyncio.Lock | None = (asyncio.Lock() if self.dialect == "sqlite"
                                                 else None)
        self._lock_fd: int | None = None

    @property
    def name(self) -> str:
        """The database as shown in logs and messages (never a password)."""
        return str(self.path) if self.path else self.url.render_as_string(hide_password=True)

    @property
    def is_open(self) -> bool:
        return self._writer is not None and self._reader is not None

    def _sqlite_engine(self, path: Path, *, writer: bool) -> AsyncEngine:
        engine = create_async_engine(
            URL.create("sqlite+aiosqlite", database=str(path)),
            connect_args={"timeout": self.busy_timeout_s}, hide_parameters=HIDE_PARAMETERS,
            pool_size=1 if writer else 4, max_overflow=0,
            # Each round trip to aiosqlite's thread costs ~0.1 ms; two per operation are saved.
            # The writer: every use is `engine.begin()`, which ends its transaction itself
            # (commit, or rollback on error), so the pool's reset rollback after it is idle.
            # Readers run each SELECT on its own (autocommit, no BEGIN): nothing to roll back,
            # neither on return nor when the connection closes its autobegun Python-side
            # transaction (https://docs.sqlalchemy.org/en/20/core/connections.html#dbapi-autocommit-skip-rollback).
            pool_reset_on_return=None, skip_autocommit_rollback=not writer)
        busy_ms = int(self.busy_timeout_s * 1000)

        @event.listens_for(engine.sync_engine, "connect")
        def on_connect(dbapi_conn: Any, _record: Any) -> None:
            # SQLAlchemy's recipe for aiosqlite: the driver must not open transactions itself
            # (https://docs.sqlalchemy.org/en/20/dialects/sqlite.html#serializable-isolation-savepoints-transactional-ddl)
            dbapi_conn.isolation_level = None
            cursor = dbapi_conn.cursor()
            for pragma in (f"busy_timeout = {busy_ms}", "foreign_keys = ON",
                           *(("journal_mode = WAL", "synchronous = NORMAL") if writer else ())):
                cursor.execute(f"PRAGMA {pragma}")
            cursor.close()

        if writer:
            @event.listens_for(engine.sync_engine, "begin")
            def on_begin(conn: Any) -> None:
                conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine

    async def open(self) -> None:
        """Create or open the database and apply pending migrations.

        Raises :class:`DataError` when it cannot be opened or is from a newer Moo-Sic."""
        if self._writer is not None:
            return
        if self.path is not None:
            try:
                create_private(self.path)
                self._lock_fd = open_lock(self.path, exclusive=False)
            except BlockingIOError:
                raise DataError(f"The database {self.path} is being restored; try again when "
                                "`moosic db restore` has finished.") from None
            except OSError as exc:
                raise DataError(f"The database {self.path} cannot be created: {exc}") from None
            writer = self._sqlite_engine(self.path, writer=True)
            reader = self._sqlite_engine(self.path, writer=False)
        else:
            writer = reader = create_async_engine(self.url, pool_size=POSTGRES_POOL_SIZE,
                                                  pool_pre_ping=True,
                                                  connect_args={"timeout": CONNECT_TIMEOUT_S},
                                                  hide_parameters=HIDE_PARAMETERS)
        self._writer, self._reader = writer, reader
        try:
            await self.transaction(
                lambda conn: conn.run_sync(lambda sync: upgrade(sync, self.name)))
            if self.dialect == "postgresql":
                await self._check_clock()
        except BaseException as exc:
            await self.close()
            if isinstance(exc, Exception) and is_unreachable(exc):
                raise DatabaseUnreachable(
                    f"The database {self.name} cannot be reached (is the server running, "
                    f"and the address right?): {describe_unreachable(exc)}") from None
            if isinstance(exc, DBAPIError):
                raise DataError(f"The database {self.name} is not usable: "
                                f"{exc.orig or exc}") from None
            raise

    async def ping(self, timeout_s: float) -> None:
        """Ask the database a trivial question (``SELECT 1``), waiting at most ``timeout_s``
        seconds. Raises :class:`DatabaseUnreachable` when it cannot be reached or does not
        answer in time, :class:`DataError` when it is closed or fails otherwise."""
        if not self.is_open:
            raise DataError(f"The database {self.name} is closed.")
        try:
            async with asyncio.timeout(timeout_s):
                await self.fetchone("SELECT 1")
        except Exception as exc:
            if isinstance(exc, TimeoutError):
                reason = f"no answer in {timeout_s:g} s"
            elif is_unreachable(exc):
                reason = describe_unreachable(exc)
            else:
                raise DataError(f"The database {self.name} failed: {exc}") from None
            raise DatabaseUnreachable(f"The database {self.name} cannot be reached: "
                                      f"{reason}") from None

    async def _check_clock(self) -> float:
        """How far the server's clock is ahead of this process's (seconds, negative: behind),
        logged as a warning past :data:`MAX_CLOCK_SKEW_S`: every replica stamps leases and round
        timers with its own wall clock, so replicas whose clocks differ by a lease (30 s for an
        update, 60 s for a group round) handle an update twice or post a list twice, and a
        round closes early or late by the difference (keep the machines on NTP)."""
        async with self._engine(self._reader).connect() as conn:
            before = wall_clock()
            server = float((await conn.execute(text(
                "SELECT EXTRACT(EPOCH FROM clock_timestamp())"))).scalar_one())
            after = wall_clock()
        skew = server - (before + after) / 2
        if abs(skew) > MAX_CLOCK_SKEW_S + (after - before) / 2:
            log.warning("this machine's clock is %.1f s %s the database server's: replicas "
                        "compare clocks for update and group-round leases and timers, so "
                        "updates may be answered twice and rounds close off time; keep every "
                        "machine's clock synchronised (NTP)", abs(skew),
                        "behind" if skew > 0 else "ahead of")
        return skew

    async def close(self) -> None:
        engines = {id(e): e for e in (self._reader, self._writer) if e is not None}
        self._reader = self._writer = None
        for engine in engines.values():
            await engine.dispose()
        self._unlock()

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # releases the flock
            self._lock_fd = None

    def _engine(self, engine: AsyncEngine | None) -> AsyncEngine:
        if engine is None:
            raise RuntimeError("the database is not open")
        return engine

    def _retryable(self, exc: DBAPIError) -> bool:
        if self.dialect == "sqlite":
            return _is_lock_error(exc.orig)
        state = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
        return state in RETRIED_PG_STATES

    async def transaction(self, body: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """Run ``body`` in one write transaction (committed when it returns, rolled back when
        it raises); retried whole when SQLite is locked or PostgreSQL reports a deadlock or
        serialization failure. Raises :class:`Busy` when the retries run out."""
        engine = self._engine(self._writer)
        async with self._write_lock or contextlib.nullcontext():
            for attempt in range(self.lock_retries + 1):
                try:
                    async with engine.begin() as conn:
                        return await body(conn)
                except DBAPIError as exc:
                    if not self._retryable(exc):
                        raise
                    if attempt == self.lock_retries:
                        raise Busy(detail=f"database busy: {exc.orig}") from None
                    log.warning("database busy (%s), retrying (%d)", exc.orig, attempt + 1)
                    await asyncio.sleep(_backoff(attempt))
            raise Busy(detail="database busy")  # pragma: no cover - loop always returns

    async def fetchone(self, sql: str, params: Mapping[str, Any] | None = None
                       ) -> Sequence[Any] | None:
        """The first row of a read (``:name`` parameters), None when there is none."""
        async with self._engine(self._reader).connect() as conn:
            result = await conn.execute(text(sql), dict(params or {}))
            return result.first()

    async def fetchall(self, sql: str, params: Mapping[str, Any] | None = None
                       ) -> list[Sequence[Any]]:
        """Every row of a read (``:name`` parameters)."""
        async with self._engine(self._reader).connect() as conn:
            result = await conn.execute(text(sql), dict(params or {}))
            return list(result.all())


async def execute(conn: AsyncConnection, sql: str, params: Params | None = None) -> int:
    """Run one statement in a transaction's connection; the rows it changed.

    A list of parameter mappings runs the statement once per mapping (none for an empty list).
    """
    if isinstance(params, Sequence):
        if not params:
            return 0
        result = await conn.execute(text(sql), [dict(p) for p in params])
    else:
        result = await conn.execute(text(sql), dict(params or {}))
    return int(result.rowcount)


def _backoff(attempt: int) -> float:
    return float(min(2.0, 0.05 * 2**attempt) * (0.5 + random.random()))
