"""The store's tables, for queries. Migrations (``migrations/versions``) create them.

Payloads and snapshots are stored as JSON *text*, not a JSON column type: the stored text is
byte for byte the webhook body that was signed, and PostgreSQL's jsonb would reorder keys.
Times are UTC; ``UTCDateTime`` makes both databases hand back aware datetimes.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)

LIVE, FINISHED = "live", "finished"  # calls.state
PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"  # deliveries.status
# deliveries.status of an orphan's payload not yet delivered when the real one arrived
SUPERSEDED = "superseded"


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on the way in and out; SQLite itself keeps no zone."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use an aware one")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# SQLite only auto-increments a column declared exactly INTEGER PRIMARY KEY.
Serial = BigInteger().with_variant(Integer(), "sqlite")

metadata = MetaData()

calls = Table(
    "calls",
    metadata,
    Column("call_id", String(64), primary_key=True),
    Column("flow", String(200), nullable=False),
    Column("state", String(16), nullable=False),  # live | finished
    Column("worker_id", String(200)),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("heartbeat_at", UTCDateTime(), nullable=False),
    Column("finished_at", UTCDateTime()),
    Column("snapshot", Text(), nullable=False),  # the payload if the call died now
    Column("payload", Text()),  # the final payload: the webhook body
    Column("sip_status", Integer()),  # an outbound call that never connected: the SIP answer
    Column("retryable", Boolean()),  # ... and whether dialing again can help
    # finished by the orphan sweeper from a snapshot: the real payload may still come
    Column("orphaned", Boolean(), nullable=False, server_default=false()),
    Index("ix_calls_state_heartbeat", "state", "heartbeat_at"),
)

call_steps = Table(
    "call_steps",
    metadata,
    Column(
        "call_id",
        String(64),
        ForeignKey("calls.call_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("step_id", String(200), primary_key=True),
    Column("completed_at", UTCDateTime(), nullable=False),
    Column("results", Text(), nullable=False),  # the step's entry of payload.results, JSON
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    Column(
        "call_id",
        String(64),
        ForeignKey("calls.call_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("webhook_id", String(64), nullable=False),  # the same for every attempt and endpoint
    Column("endpoint_url", String(2000), nullable=False),
    Column("status", String(16), nullable=False),  # pending | delivered | dead | superseded
    Column("attempts", Integer(), nullable=False),  # since queued or last replayed
    Column("created_at", UTCDateTime(), nullable=False),
    # When the next attempt is due; while an attempt runs, when its claim lapses.
    Column("next_attempt_at", UTCDateTime(), nullable=False),
    Column("delivered_at", UTCDateTime()),
    Column("last_status_code", Integer()),
    Column("last_error", String(500)),
    # One delivery per payload and endpoint; a call has several when a real payload
    # superseded its orphan's (each payload has its own webhook-id).
    UniqueConstraint("webhook_id", "endpoint_url", name="uq_deliveries_webhook_endpoint"),
    Index("ix_deliveries_call_id", "call_id"),
    Index("ix_deliveries_status_due", "status", "next_attempt_at"),
)

delivery_attempts = Table(
    "delivery_attempts",
    metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    Column(
        "delivery_id",
        Serial,
        ForeignKey("deliveries.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("attempted_at", UTCDateTime(), nullable=False),
    Column("duration_ms", Integer(), nullable=False),
    Column("status_code", Integer()),
    Column("error", String(500)),
)

disabled_endpoints = Table(
    "disabled_endpoints",
    metadata,
    Column("url", String(2000), primary_key=True),
    Column("disabled_at", UTCDateTime(), nullable=False),
    Column("reason", String(500), nullable=False),
)
