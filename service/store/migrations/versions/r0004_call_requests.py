"""Calls requested over HTTP: API keys and their quota, campaigns, call requests and their
attempts, the do-not-call list, per-trunk pacing; and when an outbound callee answered.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision: str | None = "0003"
branch_labels = None
depends_on = None

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("answered_at", WHEN))
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("calls_per_minute", sa.Integer()),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("revoked_at", WHEN),
    )
    op.create_table(
        "api_key_usage",
        sa.Column(
            "key_id",
            sa.String(64),
            sa.ForeignKey("api_keys.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("minute", WHEN, primary_key=True),
        sa.Column("calls", sa.Integer(), nullable=False),
    )
    op.create_table(
        "campaigns",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("flow", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("window", sa.Text(), nullable=False),
        sa.Column("retry", sa.Text(), nullable=False),
        sa.Column("concurrency", sa.Integer(), nullable=False),
        sa.Column("calls_per_second", sa.Float(), nullable=False),
        sa.Column("next_dispatch_at", WHEN),
        sa.Column("api_key_id", sa.String(64)),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
    )
    op.create_table(
        "call_requests",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("flow", sa.String(200), nullable=False),
        sa.Column("to_number", sa.String(64), nullable=False),
        sa.Column("from_number", sa.String(64)),
        sa.Column("timezone", sa.String(64)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(500)),
        sa.Column("outcome", sa.String(16)),
        sa.Column("campaign_id", sa.String(64), sa.ForeignKey("campaigns.id", ondelete="CASCADE")),
        sa.Column("metadata", sa.Text(), nullable=False),
        sa.Column("simulate", sa.Text()),
        sa.Column("not_before", WHEN),
        sa.Column("next_attempt_at", WHEN),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("dispatched_at", WHEN),
        sa.Column("room", sa.String(200)),
        sa.Column("api_key_id", sa.String(64)),
        sa.Column("idempotency_key", sa.String(200)),
        sa.Column("request_hash", sa.String(64)),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.UniqueConstraint("api_key_id", "idempotency_key", name="uq_call_requests_idempotency"),
    )
    op.create_index("ix_call_requests_due", "call_requests", ["status", "next_attempt_at"])
    op.create_index("ix_call_requests_campaign", "call_requests", ["campaign_id", "status"])
    op.create_index("ix_call_requests_to", "call_requests", ["to_number", "status"])
    op.create_table(
        "call_attempts",
        sa.Column(
            "call_id",
            sa.String(64),
            sa.ForeignKey("call_requests.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("attempt", sa.Integer(), primary_key=True),
        sa.Column("at", WHEN, nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("sip_status", sa.Integer()),
        sa.Column("retryable", sa.Boolean()),
        sa.Column("reason", sa.String(500)),
    )
    op.create_table(
        "do_not_call",
        sa.Column("number", sa.String(64), primary_key=True),
        sa.Column("added_at", WHEN, nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
    )
    op.create_table(
        "trunk_pacing",
        sa.Column("trunk", sa.String(200), primary_key=True),
        sa.Column("next_dispatch_at", WHEN, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "trunk_pacing",
        "do_not_call",
        "call_attempts",
        "call_requests",
        "campaigns",
        "api_key_usage",
        "api_keys",
    ):
        op.drop_table(table)
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("answered_at")
