"""Schema 3: chat-platform updates taken for handling, so a redelivered update is answered once
(across restarts and bot processes sharing the database). No personal data: ids and times.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "handled_updates",
        sa.Column("platform", sa.Text, primary_key=True),
        sa.Column("update_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("claimed_at", sa.Float, nullable=False),
        sa.Column("done", sa.Integer, nullable=False, server_default="0"),  # 0 working, 1 done
    )
    op.create_index("handled_updates_claimed", "handled_updates", ["claimed_at"])


def downgrade() -> None:
    op.drop_table("handled_updates")
