"""Schema 5: the chat state that used to live in one process's memory, so several bot replicas
over one database (and a restarted one) see the same thing.

- ``group_rounds`` / ``group_members``: one open round per chat (``chat`` is the platform's
  chat key, e.g. ``telegram:-1001``); ``closes_at`` is when its timer closes it (NULL: no
  timer); ``closing_until`` is the lease of the replica posting its result (NULL: nobody is),
  so the timer fires once across replicas and again only if that replica died. A group
  photo's anonymous face readings are ``photo_readings`` (JSON), linked to nobody.
- ``rate_events``: one row per counted event (a selfie), for sliding-window rate limits.
- ``user_state``: small per-user conversation state by key (an open yes/no question, the list
  waiting for Spotify's permission to be saved, the last save, the name chats show).
- ``song_lists``: lists as shown (title and track ids), for their Save buttons and ``/save``;
  ``user_id`` is the owner of a personal list (NULL for a group round's list, which belongs
  to ``chat``).
- ``claims``: short-lived claims by name (a Telegram album answered by one replica).

/forget deletes the user's rows (``group_members``, ``rate_events``, ``user_state`` and
``song_lists`` are in ``USER_TABLES``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _user_id(primary_key: bool = False, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg,unused-ignore]
    return sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"),
                     primary_key=primary_key, nullable=nullable, autoincrement=False)


def upgrade() -> None:
    op.create_table(
        "group_rounds",
        sa.Column("chat", sa.Text, primary_key=True),
        sa.Column("mode", sa.Text, nullable=False),
        sa.Column("opened_at", sa.Float, nullable=False),
        sa.Column("closes_at", sa.Float, nullable=True),
        sa.Column("closing_until", sa.Float, nullable=True),
        sa.Column("photo_readings", sa.Text, nullable=False, server_default="[]"),
    )
    op.create_index("group_rounds_closes_at", "group_rounds", ["closes_at"])
    op.create_table(
        "group_members",
        sa.Column("chat", sa.Text, sa.ForeignKey("group_rounds.chat", ondelete="CASCADE"),
                  primary_key=True),
        _user_id(primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("mood", sa.Text, nullable=True),  # JSON of a MoodReading, NULL: taste only
        sa.Column("joined_at", sa.Float, nullable=False),
    )
    op.create_index("group_members_user", "group_members", ["user_id"])
    op.create_table(
        "rate_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _user_id(),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("at", sa.Float, nullable=False),
    )
    op.create_index("rate_events_user_kind_at", "rate_events", ["user_id", "kind", "at"])
    op.create_table(
        "user_state",
        _user_id(primary_key=True),
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_table(
        "song_lists",
        sa.Column("list_id", sa.Text, primary_key=True),
        _user_id(nullable=True),
        sa.Column("chat", sa.Text, nullable=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("track_ids", sa.Text, nullable=False),  # JSON list, in the order shown
        sa.Column("is_group", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_index("song_lists_user", "song_lists", ["user_id", "created_at"])
    op.create_index("song_lists_chat", "song_lists", ["chat", "created_at"])
    op.create_table(
        "claims",
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("claimed_at", sa.Float, nullable=False),
    )
    op.create_index("claims_claimed_at", "claims", ["claimed_at"])


def downgrade() -> None:
    for table in ("claims", "song_lists", "user_state", "rate_events", "group_members",
                  "group_rounds"):
        op.drop_table(table)
