"""The database schema as Alembic revisions, one set for SQLite and PostgreSQL.

Revisions live in ``moosic_core/store/revisions/versions/`` and are numbered ``0001``,
``0002``...: the schema version is the head revision's number. Append a revision; never edit one
that has shipped. A new table: copy the newest file to ``NNNN_<what>.py``, set ``revision =
"NNNN"`` and ``down_revision`` to the previous number, write ``op.create_table(...)`` with
portable SQLAlchemy types (``sa.Integer``, ``sa.Text``, ``sa.Float``, ``sa.LargeBinary``) in
``upgrade()``, and add the table to :data:`USER_TABLES` when it holds a user's rows (a
``user_id`` column referencing ``users.id`` ``ON DELETE CASCADE``) so ``forget`` deletes them.

:func:`upgrade` runs when a store opens, inside one transaction: it recognises a database made
by the old hand-written migrations (:mod:`moosic_core.store.legacy`: ``PRAGMA user_version`` N,
no ``alembic_version`` table), stamps it with revision N (the same schema) and upgrades it in
place. On SQLite it keeps ``PRAGMA user_version`` equal to the schema version, so an older
Moo-Sic refuses a newer file as it always did.
"""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from moosic_core.errors import DataError

log = logging.getLogger(__name__)
# Alembic logs its set-up on every opening at INFO; upgrade() logs what changed instead.
logging.getLogger("alembic.runtime.migration").setLevel(logging.WARNING)

REVISIONS_DIR = Path(__file__).with_name("revisions")

# Tables with per-user rows, children first: forget() deletes from each, then the user.
USER_TABLES: tuple[str, ...] = ("library_tracks", "taste_cache", "oauth_states", "consent",
                                "feedback", "recommendations", "user_settings", "links",
                                "last_lists")


def alembic_config(connection: Connection | None = None) -> AlembicConfig:
    """Alembic's configuration for our revisions, bound to ``connection`` (see env.py)."""
    config = AlembicConfig()
    config.set_main_option("script_location", str(REVISIONS_DIR))
    config.attributes["connection"] = connection
    return config


def _script() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def _head() -> str:
    head = _script().get_current_head()
    if head is None:  # pragma: no cover - the package ships revision 0001
        raise RuntimeError(f"no Alembic revisions in {REVISIONS_DIR}")
    return head


SCHEMA_VERSION = int(_head())


def current_version(connection: Connection, revision: str | None) -> int:
    """The schema version of an open database whose Alembic revision is ``revision``: 0 when
    empty, else the revision's number (a legacy SQLite file: its ``user_version``)."""
    if revision is not None:
        return int(revision) if revision.isdigit() else SCHEMA_VERSION + 1
    if connection.dialect.name == "sqlite":
        return int(connection.exec_driver_sql("PRAGMA user_version").scalar() or 0)
    return 0


def upgrade(connection: Connection, where: str) -> int:
    """Bring the database on ``connection`` (in a transaction) to the newest schema.

    Returns the version found before. Raises :class:`DataError` when the database is from a
    newer Moo-Sic (a revision this code does not know). ``where`` names it in messages (never
    a password).
    """
    config = alembic_config(connection)
    known = {rev.revision for rev in _script().walk_revisions()}
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
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql(f"PRAGMA user_version = {SCHEMA_VERSION}")
    return found
