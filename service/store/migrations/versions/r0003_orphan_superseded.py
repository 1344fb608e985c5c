"""Let a real payload supersede an orphan's: calls finished by the sweeper are marked, and
a call may have one delivery per payload (webhook-id) and endpoint, no longer one in all.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision: str | None = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("calls") as batch:  # batch: SQLite cannot ALTER in place
        batch.add_column(
            sa.Column("orphaned", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_constraint("uq_deliveries_call_endpoint", type_="unique")
        batch.create_unique_constraint(
            "uq_deliveries_webhook_endpoint", ["webhook_id", "endpoint_url"]
        )
        batch.create_index("ix_deliveries_call_id", ["call_id"])


def downgrade() -> None:
    # Keeps the newest delivery of each call and endpoint, as the old constraint allowed one.
    op.execute(
        "DELETE FROM deliveries WHERE id NOT IN"
        " (SELECT max(id) FROM deliveries GROUP BY call_id, endpoint_url)"
    )
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_index("ix_deliveries_call_id")
        batch.drop_constraint("uq_deliveries_webhook_endpoint", type_="unique")
        batch.create_unique_constraint("uq_deliveries_call_endpoint", ["call_id", "endpoint_url"])
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("orphaned")
