"""The database schema as Alembic revisions, one set for SQLite and PostgreSQL.

Revisions live in ``moosic_core/store/revisions/versions/`` and are numbered ``0001``,
``0002``...: the schema version is the head revision's number. Append a revision; never edit one
that has shipped. A new table: copy the newest file to ``NNNN_<what>.py``, set ``revision =
"NNNN"`` and ``down_revision`` to the previous number, write ``op.create_table(...)`` with
portable SQLAlchemy types (``sa.Integer``, ``sa.Text``, ``sa.Float``, ``sa.LargeBinary``) in
``upgrade()``, and add the table to :data:`USER_TABLES` when it holds a user's rows (a
``user_id`` column referencing ``users.id`` ``ON DELETE CASCADE``) so ``forget`` deletes them.

:func:`upgrade` runs when a store opens, inside one transaction. A database at the head
revision (the usual case) is recognised with one plain query and Alembic is not even imported
(it and Mako cost a serving process about 11 MB). Anything else goes to
:mod:`moosic_core.store.alembic_upgrade`: it recognises a database made by the old hand-written
migrations (:mod:`moosic_core.store.legacy`: ``PRAGMA user_version`` N, no ``alembic_version``
table), stamps it with revision N (the same schema) and upgrades it in place. On SQLite
``PRAGMA user_version`` is kept equal to the schema version, so an older Moo-Sic refuses a newer
file as it always did. On PostgreSQL the transaction first takes an advisory lock, so replicas
starting together on a new database migrate it once: the others wait for that commit and find
the head revision (SQLite's ``BEGIN IMMEDIATE`` already serialises them).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from sqlalchemy import Connection, inspect, text

log = logging.getLogger(__name__)

REVISIONS_DIR = Path(__file__).with_name("revisions")
VERSION_TABLE = "alembic_version"  # Alembic's default, where it keeps the current revision
_REVISION_FILE = re.compile(r"^(\d{4})_\w+\.py$")

# Tables with per-user rows, children first: forget() deletes from each, then the user.
USER_TABLES: tuple[str, ...] = ("library_tracks", "taste_cache", "oauth_states", "consent",
                                "feedback", "recommendations", "user_settings", "links",
                                "last_lists", "group_members", "rate_events", "user_state",
                                "song_lists")


def shipped_revisions() -> list[str]:
    """The revision ids shipped, oldest first: the ``NNNN`` of each ``NNNN_<what>.py`` in
    ``revisions/versions/`` (a test checks they are Alembic's own, one linear chain)."""
    names = (p.name for p in (REVISIONS_DIR / "versions").iterdir())
    return sorted(m.group(1) for m in map(_REVISION_FILE.match, names) if m)


def _head() -> str:
    revisions = shipped_revisions()
    if not revisions:  # pragma: no cover - the package ships revision 0001
        raise RuntimeError(f"no Alembic revisions in {REVISIONS_DIR}")
    return revisions[-1]


HEAD_REVISION = _head()
SCHEMA_VERSION = int(HEAD_REVISION)
#: The PostgreSQL advisory lock (a 64-bit key: "moosic" in ASCII) held while the schema is
#: checked and migrated, released when that transaction ends.
MIGRATION_LOCK = 0x6D6F6F736963


def stored_revisions(connection: Connection) -> list[str] | None:
    """The revisions recorded in the database's ``alembic_version`` table (Alembic's own
    query), None when it has no such table (empty, or made by the hand-written migrations)."""
    if not inspect(connection).has_table(VERSION_TABLE):
        return None
    rows = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).all()
    return [str(row[0]) for row in rows]


def upgrade(connection: Connection, where: str) -> int:
    """Bring the database on ``connection`` (in a transaction) to the newest schema.

    Returns the version found before. Raises :class:`~moosic_core.errors.DataError` when the
    database is from a newer Moo-Sic (a revision this code does not know). ``where`` names it in
    messages (never a password).

    On PostgreSQL the transaction first takes an advisory lock (:data:`MIGRATION_LOCK`), so
    replicas starting together on one database migrate it one after the other (without it the
    second fails on the first's half-made tables); SQLite has one writer anyway.
    """
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
    if stored_revisions(connection) == [HEAD_REVISION]:
        found = SCHEMA_VERSION
    else:
        # Imported here, not above: only a database that needs work loads Alembic.
        from moosic_core.store import alembic_upgrade

        found = alembic_upgrade.upgrade(connection, where)
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql(f"PRAGMA user_version = {SCHEMA_VERSION}")
    return found
