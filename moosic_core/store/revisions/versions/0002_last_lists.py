"""Schema 2: each user's last suggested list, so that "more", "lift"/"match" and ``/like N``
continue it after a restart or on another bot process.

Only the mood numbers and the user's own words for it are kept, never anything about faces.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "last_lists",
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"),
                  primary_key=True, autoincrement=False),
        sa.Column("mood_score", sa.Float, nullable=False),
        sa.Column("energy", sa.Float),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("label", sa.Text),
        sa.Column("mode", sa.Text, nullable=False),
        sa.Column("track_ids", sa.Text, nullable=False),  # a JSON list, in the order shown
        sa.Column("created_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("last_lists")
