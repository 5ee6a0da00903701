"""Schema 1: users, links with encrypted tokens, library tracks, caches, consent, feedback,
history (the schema of the hand-written SQLite migration 1 in :mod:`moosic_core.store.legacy`).

Every table holding a user's data has a ``user_id`` column referencing ``users`` so that
``forget`` can find (and delete) all of it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _user_id(primary_key: bool = False) -> sa.Column:
    return sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"),
                     nullable=False, primary_key=primary_key, autoincrement=False)


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("platform", sa.Text, nullable=False),
        sa.Column("platform_user_id", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.UniqueConstraint("platform", "platform_user_id"),
    )
    # The user's one taste source. Tokens are Fernet ciphertext, never plaintext.
    op.create_table(
        "links",
        _user_id(primary_key=True),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("spotify_user_id", sa.Text),
        sa.Column("display_name", sa.Text),
        sa.Column("access_token", sa.LargeBinary),
        sa.Column("refresh_token", sa.LargeBinary),
        sa.Column("scopes", sa.Text),
        sa.Column("expires_at", sa.Float),
        sa.Column("source_name", sa.Text),
        sa.Column("fetched_at", sa.Float),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.CheckConstraint("kind IN ('spotify_user', 'spotify_oauth', 'playlist_csv')",
                           name="links_kind"),
    )
    # Tracks of the linked source: an imported CSV, or Spotify results cached with fetched_at.
    op.create_table(
        "library_tracks",
        _user_id(primary_key=True),
        sa.Column("position", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("track_id", sa.Text),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("artists", sa.Text, nullable=False),
        sa.Column("genres", sa.Text, nullable=False),
        sa.Column("features", sa.Text),
    )
    op.create_table(
        "taste_cache",
        _user_id(primary_key=True),
        sa.Column("profile", sa.Text, nullable=False),
        sa.Column("source_key", sa.Text, nullable=False),
        sa.Column("built_at", sa.Float, nullable=False),
    )
    # OAuth authorization requests in flight (state -> user, encrypted PKCE verifier).
    op.create_table(
        "oauth_states",
        sa.Column("state", sa.Text, primary_key=True),
        _user_id(),
        sa.Column("verifier", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_index("oauth_states_user", "oauth_states", ["user_id"])
    op.create_table(
        "consent",
        _user_id(primary_key=True),
        sa.Column("kind", sa.Text, primary_key=True),
        sa.Column("agreed_at", sa.Float, nullable=False),
    )
    op.create_table(
        "feedback",
        _user_id(primary_key=True),
        sa.Column("track_id", sa.Text, primary_key=True),
        sa.Column("value", sa.Integer, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.CheckConstraint("value IN (-1, 1)", name="feedback_value"),
    )
    op.create_table(
        "recommendations",
        sa.Column("id", sa.Integer, primary_key=True),
        _user_id(),
        sa.Column("track_id", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_index("recommendations_user_time", "recommendations", ["user_id", "created_at"])


def downgrade() -> None:
    for table in ("recommendations", "feedback", "consent", "oauth_states", "taste_cache",
                  "library_tracks", "links", "users"):
        op.drop_table(table)
