"""Alembic applying the revisions to a database that is not at the head revision.

Imported only when :func:`moosic_core.store.migrations.upgrade` finds a database that needs
work (new, older, made by the hand-written migrations, or of unknown revision): Alembic and its
templating (Mako) take about 11 MB of a serving process's memory, so a database already at the
head revision never loads them (measured with ``python -m benchmarks.rss_bench``).
"""

from __future__ import annotations

import logging

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from moosic_core.errors import DataError
from moosic_core.store.migrations import REVISIONS_DIR, SCHEMA_VERSION

log = logging.getLogger(__name__)
# Alembic logs its set-up on every opening at INFO; upgrade() logs what changed instead.
logging.getLogger("alembic.runtime.migration").setLevel(logging.WARNING)


def alembic_config(connection: Connection | None = None) -> AlembicConfig:
    """Alembic's configuration for our revisions, bound to ``connection`` (see env.py)."""
    config = AlembicConfig()
    config.set_main_option("script_location", str(REVISIONS_DIR))
    config.attributes["connection"] = connection
    return config


def script() -> ScriptDirectory:
    """Alembic's view of the shipped revisions (``revisions/versions/``)."""
    return ScriptDirectory.from_config(alembic_config())


def current_version(connection: Connection, revision: str | None) -> int:
    """The schema version of an open database whose Alembic revision is ``revision``: 0 when
    empty, else the revision's number (a legacy SQLite file: its ``user_version``)."""
    if revision is not None:
        return int(revision) if revision.isdigit() else SCHEMA_VERSION + 1
    if connection.dialect.name == "sqlite":
        return int(connection.exec_driver_sql("PRAGMA user_version").scalar() or 0)
    return 0


def upgrade(connection: Connection, where: str) -> int:
    """Bring the database on ``connection`` (in a transaction) to the newest schema with
    Alembic; see :func:`moosic_core.store.migrations.upgrade` (returns, raises the same)."""
    config = alembic_config(connection)
    known = {rev.revision for rev in script().walk_revisions()}
    revision = MigrationContext.configure(connection).get_current_revision()
    found = current_version(connection, revision)
    if (revision is not None and revision not in known) or found > SCHEMA_VERSION:
        raise DataError(f"The database {where} is from a newer version of Moo-Sic (schema "
                        f"{found} > {SCHEMA_VERSION}); upgrade Moo-Sic to use it.")
    if revision is None and found > 0:  # made by the hand-written migrations (legacy.py)
        command.stamp(config, f"{found:04d}")
        log.info("database %s: schema %d of the old hand-written migrations adopted as "
                 "revision %04d", where, found, found)
    if found < SCHEMA_VERSION:
        command.upgrade(config, "head")
        log.info("database %s migrated from schema %d to %d", where, found, SCHEMA_VERSION)
    return found
