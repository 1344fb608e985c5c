"""The store's tables, for queries. Migrations (``migrations/versions``) create them.

Payloads and snapshots are stored as JSON *text*, not a JSON column type: the stored text is
byte for byte the webhook body that was signed, and PostgreSQL's jsonb would reorder keys.
Times are UTC; ``UTCDateTime`` makes both databases hand back aware datetimes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final, Literal, get_args

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
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

# The store's vocabulary: every status column's values, as a Literal and as constants.
CallState = Literal["live", "finished"]  # calls.state
LIVE: Final = "live"
FINISHED: Final = "finished"

DeliveryStatus = Literal["pending", "delivered", "dead", "superseded"]  # deliveries.status
DELIVERY_STATUSES: tuple[DeliveryStatus, ...] = get_args(DeliveryStatus)
PENDING: Final = "pending"
DELIVERED: Final = "delivered"
DEAD: Final = "dead"
# an orphan's payload not yet delivered when the real one arrived
SUPERSEDED: Final = "superseded"

# call_requests.status; "ended" once the call's payload is final (calls.payload holds it).
RequestStatus = Literal["queued", "dialing", "in_progress", "ended", "cancelled", "blocked"]
REQUEST_STATUSES: tuple[RequestStatus, ...] = get_args(RequestStatus)
QUEUED: Final = "queued"
DIALING: Final = "dialing"
IN_PROGRESS: Final = "in_progress"
ENDED: Final = "ended"
CANCELLED: Final = "cancelled"
BLOCKED: Final = "blocked"
UNSETTLED = (DIALING, IN_PROGRESS)  # dispatched: the scheduler decides what the result means

CampaignStatus = Literal["running", "paused", "cancelled", "done"]  # campaigns.status
RUNNING: Final = "running"
PAUSED: Final = "paused"
CAMPAIGN_CANCELLED: Final = "cancelled"
DONE: Final = "done"


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
    Column("answered_at", UTCDateTime()),  # an outbound callee picked up (a person or machine)
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

# --- Calls requested over HTTP (``intake serve``) and what schedules them ---------------
api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(64), primary_key=True),  # key_...
    Column("name", String(200), nullable=False, unique=True),
    Column("key_hash", String(64), nullable=False, unique=True),  # sha256 hex of the key
    Column("prefix", String(16), nullable=False),  # the key's first characters, to recognise it
    Column("calls_per_minute", Integer()),  # None: the setting's default quota
    Column("created_at", UTCDateTime(), nullable=False),
    Column("revoked_at", UTCDateTime()),
)

api_key_usage = Table(  # call creations per key and minute, for the quota
    "api_key_usage",
    metadata,
    Column("key_id", String(64), ForeignKey("api_keys.id", ondelete="CASCADE"), primary_key=True),
    Column("minute", UTCDateTime(), primary_key=True),
    Column("calls", Integer(), nullable=False),
)

campaigns = Table(
    "campaigns",
    metadata,
    Column("id", String(64), primary_key=True),  # cmp_...
    Column("name", String(200), nullable=False),
    Column("flow", String(200), nullable=False),
    Column("status", String(16), nullable=False),  # running | paused | cancelled | done
    Column("window", Text(), nullable=False),  # JSON of service.scheduler.rules.Window
    Column("retry", Text(), nullable=False),  # JSON of service.scheduler.rules.RetryPolicy
    Column("concurrency", Integer(), nullable=False),
    Column("calls_per_second", Float(), nullable=False),
    Column("next_dispatch_at", UTCDateTime()),  # pacing: the campaign's next free slot
    Column("api_key_id", String(64)),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

call_requests = Table(
    "call_requests",
    metadata,
    Column("id", String(64), primary_key=True),  # call_...: the payload's call_id
    Column("flow", String(200), nullable=False),
    Column("to_number", String(64), nullable=False),  # E.164; as given when blocked invalid
    Column("from_number", String(64)),
    Column("timezone", String(64)),  # IANA name given with the request; None: the number's
    Column("status", String(16), nullable=False),
    Column("reason", String(500)),  # why blocked, cancelled or failed, in one line
    Column("outcome", String(16)),  # once ended: the payload's status (campaign counts)
    Column("campaign_id", String(64), ForeignKey("campaigns.id", ondelete="CASCADE")),
    Column("metadata", Text(), nullable=False),  # JSON object, copied into the payload
    Column("simulate", Text()),  # JSON scenario for ``intake serve --simulate``
    Column("not_before", UTCDateTime()),
    Column("next_attempt_at", UTCDateTime()),  # while queued: when it is due
    Column("attempts", Integer(), nullable=False, server_default="0"),  # dials made
    Column("dispatched_at", UTCDateTime()),  # the attempt under way: when it was dispatched
    Column("room", String(200)),  # ... and its LiveKit room
    Column("api_key_id", String(64)),
    Column("idempotency_key", String(200)),
    Column("request_hash", String(64)),  # sha256 of the request body, for Idempotency-Key
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    UniqueConstraint("api_key_id", "idempotency_key", name="uq_call_requests_idempotency"),
    Index("ix_call_requests_due", "status", "next_attempt_at"),
    Index("ix_call_requests_campaign", "campaign_id", "status"),
    Index("ix_call_requests_to", "to_number", "status"),
)

call_attempts = Table(  # each dial of a requested call that has ended
    "call_attempts",
    metadata,
    Column(
        "call_id",
        String(64),
        ForeignKey("call_requests.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("attempt", Integer(), primary_key=True),  # 1, 2, ...
    Column("at", UTCDateTime(), nullable=False),
    Column("outcome", String(16), nullable=False),  # the payload status of that dial
    Column("sip_status", Integer()),
    Column("retryable", Boolean()),
    Column("reason", String(500)),
)

do_not_call = Table(
    "do_not_call",
    metadata,
    Column("number", String(64), primary_key=True),  # E.164
    Column("added_at", UTCDateTime(), nullable=False),
    Column("source", String(200), nullable=False),  # "api", or the call_id of the request
)

trunk_pacing = Table(  # one row per outbound trunk: when its next dial may go out
    "trunk_pacing",
    metadata,
    Column("trunk", String(200), primary_key=True),
    Column("next_dispatch_at", UTCDateTime(), nullable=False),
)
