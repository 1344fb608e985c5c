"""Keep an outbound call's dial failure on its record: the SIP status and whether a retry can help.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("calls") as batch:  # batch: SQLite cannot ALTER in place
        batch.add_column(sa.Column("sip_status", sa.Integer()))
        batch.add_column(sa.Column("retryable", sa.Boolean()))


def downgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("retryable")
        batch.drop_column("sip_status")
