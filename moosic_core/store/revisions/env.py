"""Alembic's environment for Moo-Sic: migrations run on the connection the store hands over.

Moo-Sic applies its migrations itself when a store opens
(:func:`moosic_core.store.migrations.upgrade`), inside the store's own transaction, on SQLite
and PostgreSQL alike; there is no ``alembic.ini`` and no separate ``alembic upgrade`` step.
``render_as_batch`` lets ``op.batch_alter_table`` rebuild SQLite tables for the ALTERs SQLite
lacks (https://alembic.sqlalchemy.org/en/latest/batch.html).
"""

from __future__ import annotations

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("Moo-Sic applies its migrations when the store opens "
                       "(moosic_core.store.migrations.upgrade): start the bot, or run any "
                       "`moosic` command that uses the store.")
context.configure(connection=connection, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
