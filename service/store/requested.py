"""Calls requested over HTTP as the scheduler sees them, and how a dial's end is recorded.

Shared by the claiming (``scheduling``) and the settling (``settling``) of requested calls:
the row's fields, the rules that apply to it (its campaign's, or the defaults for a single
call), and ``conclude``: one attempt recorded, then the call queued again or made final.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from flows.engine.outcomes import CallStatus
from flows.engine.payload import Payload
from service.scheduler.dispatch import Dispatch
from service.scheduler.retries import next_dial
from service.scheduler.rules import DEFAULT_RETRY, DEFAULT_WINDOW, RetryPolicy, Window
from service.scheduler.zones import callee_zones
from service.store.calls import CallStore
from service.store.engine import upsert
from service.store.schema import (
    ENDED,
    QUEUED,
    call_attempts,
    call_requests,
    call_steps,
    calls,
    campaigns,
)

# campaigns.status

# The payload of a dial that never reached a worker (made by the scheduler, from the flow).
UnconnectedPayload = Callable[[Dispatch, datetime, datetime], Payload]

REQUEST_COLUMNS = (
    call_requests.c.id,
    call_requests.c.flow,
    call_requests.c.to_number,
    call_requests.c.from_number,
    call_requests.c.timezone,
    call_requests.c.campaign_id,
    call_requests.c.metadata,
    call_requests.c.simulate,
    call_requests.c.attempts,
    call_requests.c.dispatched_at,
    call_requests.c.room,
)


@dataclass(frozen=True)
class Rules:
    """What a call is allowed: its campaign's window and retries, or the defaults."""

    window: Window = DEFAULT_WINDOW
    retry: RetryPolicy = DEFAULT_RETRY
    key: str = "default"  # the same for equal rules: caches within a pass use it


class RuleBook:
    """Campaign rules parsed once per distinct JSON text."""

    def __init__(self) -> None:
        self._parsed: dict[tuple[str, str], Rules] = {}

    def rules(self, window: str | None, retry: str | None) -> Rules:
        if window is None or retry is None:
            return Rules()
        key = (window, retry)
        if key not in self._parsed:
            self._parsed[key] = Rules(
                Window.model_validate_json(window),
                RetryPolicy.model_validate_json(retry),
                key=f"{len(self._parsed)}",
            )
        return self._parsed[key]

    async def of_campaigns(self, conn: AsyncConnection, ids: set[str]) -> dict[str, Rules]:
        if not ids:
            return {}
        rows = await conn.execute(
            select(campaigns.c.id, campaigns.c.window, campaigns.c.retry).where(
                campaigns.c.id.in_(sorted(ids))
            )
        )
        return {row.id: self.rules(row.window, row.retry) for row in rows}


class ZoneBook:
    """``callee_zones`` remembered per number (parsing numbers is the costly part)."""

    def __init__(self, size: int = 100_000) -> None:
        self._zones: dict[tuple[str, str | None], tuple[str, ...]] = {}
        self._size = size

    def zones(self, number: str, timezone: str | None) -> tuple[str, ...]:
        key = (number, timezone)
        found = self._zones.get(key)
        if found is None:
            if len(self._zones) >= self._size:
                self._zones.clear()
            found = self._zones[key] = callee_zones(number, timezone)
        return found


@dataclass(frozen=True)
class RequestedCall:
    """One call_requests row, as far as scheduling goes."""

    id: str
    flow: str
    to: str
    from_: str | None
    timezone: str | None
    campaign_id: str | None
    metadata: str  # JSON object
    simulate: str | None  # JSON scenario (--simulate)
    attempts: int  # dials made
    dispatched_at: datetime | None
    room: str | None

    @classmethod
    def of(cls, row: Row[*tuple[Any, ...]]) -> RequestedCall:
        return cls(
            id=row.id,
            flow=row.flow,
            to=row.to_number,
            from_=row.from_number,
            timezone=row.timezone,
            campaign_id=row.campaign_id,
            metadata=row.metadata,
            simulate=row.simulate,
            attempts=row.attempts,
            dispatched_at=row.dispatched_at,
            room=row.room,
        )

    def room_for(self, attempt: int) -> str:
        """``call-<id without call_, lower case>-<attempt>``: one LiveKit room per dial."""
        return f"call-{self.id.removeprefix('call_').lower()}-{attempt}"

    def dispatch(self, attempt: int, room: str) -> Dispatch:
        return Dispatch(
            call_id=self.id,
            attempt=attempt,
            room=room,
            to=self.to,
            from_=self.from_,
            flow=self.flow,
            metadata=json.loads(self.metadata),
            simulate=json.loads(self.simulate) if self.simulate else None,
        )


@dataclass(frozen=True)
class DialEnd:
    """How one dial ended: the payload status it gave, and what the record keeps."""

    outcome: CallStatus
    ended_at: datetime
    sip_status: int | None = None
    retryable: bool | None = None
    reason: str | None = None


@dataclass(frozen=True)
class Settled:
    """A dial's end as recorded: retried at ``retry_at``, or final (None)."""

    call_id: str
    attempt: int
    outcome: CallStatus
    retry_at: datetime | None


async def conclude(
    conn: AsyncConnection,
    store: CallStore,
    call: RequestedCall,
    end: DialEnd,
    rules: Rules,
    zones: tuple[str, ...],
    *,
    now: datetime,
    final_payload: Callable[[], Payload] | None = None,
    campaign_cancelled: bool = False,
) -> Settled:
    """Record the attempt, then queue the call again per its rules or make it final.

    Final: status ended with the outcome, and its payload queued for delivery; when no
    worker stored a payload, ``final_payload`` makes the one stored first, like any
    payload. Retried: the dial's ``calls`` row and steps go (they were one attempt's, never
    delivered). A call of a cancelled campaign is not dialled again.
    """
    await conn.execute(
        upsert(conn, call_attempts)
        .values(
            call_id=call.id,
            attempt=call.attempts,
            at=end.ended_at,
            outcome=end.outcome,
            sip_status=end.sip_status,
            retryable=end.retryable,
            reason=end.reason,
        )
        .on_conflict_do_nothing(index_elements=[call_attempts.c.call_id, call_attempts.c.attempt])
    )
    retry_at = next_dial(
        rules.retry,
        rules.window,
        zones,
        outcome=end.outcome,
        retryable=end.retryable,
        dials=call.attempts,
        ended_at=end.ended_at,
    )
    if retry_at is not None and not campaign_cancelled:
        await conn.execute(delete(call_steps).where(call_steps.c.call_id == call.id))
        await conn.execute(delete(calls).where(calls.c.call_id == call.id))
        await conn.execute(
            update(call_requests)
            .where(call_requests.c.id == call.id)
            .values(
                status=QUEUED,
                next_attempt_at=retry_at,
                dispatched_at=None,
                reason=end.reason,
                updated_at=now,
            )
        )
        return Settled(call.id, call.attempts, end.outcome, retry_at)
    if final_payload is not None:
        await store.finish_in(
            conn, final_payload(), sip_status=end.sip_status, retryable=end.retryable
        )
    await conn.execute(
        update(call_requests)
        .where(call_requests.c.id == call.id)
        .values(
            status=ENDED,
            outcome=end.outcome,
            next_attempt_at=None,
            reason=end.reason,
            updated_at=now,
        )
    )
    await store.queue_deliveries(conn, call.id, call.flow)
    return Settled(call.id, call.attempts, end.outcome, None)
