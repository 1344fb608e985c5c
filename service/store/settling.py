"""Settling dispatched calls: what each dial's result means for its requested call.

For calls ``dialing`` or ``in_progress``, by their worker's ``calls`` row: live and
answered -> ``in_progress``; finished -> the dial's outcome is the payload's status, an
attempt is recorded and the call is queued again per its retry rule or made final (ended,
its payload queued for delivery). No row within the dispatch timeout: no worker took the
call, which counts as a retryable failure (the caller withdraws the dispatch); if that
is final, the scheduler stores the call's payload itself. Rows are locked with ``FOR
UPDATE SKIP LOCKED`` on PostgreSQL, the request first, as ``CallStore.call_finished`` does.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from flows.engine.clock import Clock
from flows.engine.payload import Payload
from service.scheduler.dispatch import Dispatch, DispatchError
from service.store.calls import CallStore
from service.store.engine import unavailable_as_store_error
from service.store.requested import (
    REQUEST_COLUMNS,
    DialEnd,
    RequestedCall,
    RuleBook,
    Rules,
    Settled,
    UnconnectedPayload,
    ZoneBook,
    conclude,
)
from service.store.schema import (
    CAMPAIGN_CANCELLED,
    DIALING,
    DONE,
    FINISHED,
    IN_PROGRESS,
    LIVE,
    QUEUED,
    RUNNING,
    UNSETTLED,
    call_requests,
    calls,
    campaigns,
)


@dataclass
class SettleReport:
    settled: list[Settled] = field(default_factory=list)  # dials that ended
    answered: int = 0  # calls now in progress
    timed_out: list[Dispatch] = field(default_factory=list)  # to withdraw, best effort


class SettlingStore:
    """The settling half of the scheduler's store (``SchedulingStore`` claims)."""

    def __init__(
        self,
        store: CallStore,
        clock: Clock,
        unconnected: UnconnectedPayload,
        *,
        dispatch_timeout: timedelta,
        batch: int = 200,
    ) -> None:
        self._store, self._engine, self._clock = store, store.engine, clock
        self._unconnected, self._timeout, self._batch = unconnected, dispatch_timeout, batch
        self._rules, self._zones = RuleBook(), ZoneBook()

    @property
    def timeout_reason(self) -> str:
        return f"no worker took the call within {self._timeout.total_seconds():g} s"

    @unavailable_as_store_error
    async def settle(self) -> SettleReport:
        """Settle what the workers' rows say about dispatched calls (a batch at a time)."""
        now = self._clock()
        report = SettleReport()
        async with self._engine.begin() as conn:
            rows = (
                await conn.execute(
                    select(
                        *REQUEST_COLUMNS,
                        call_requests.c.status,
                        calls.c.state,
                        calls.c.payload,
                        calls.c.finished_at,
                        calls.c.sip_status,
                        calls.c.retryable,
                    )
                    .select_from(
                        call_requests.outerjoin(calls, calls.c.call_id == call_requests.c.id)
                    )
                    .where(
                        call_requests.c.status.in_(UNSETTLED),
                        (calls.c.state == FINISHED)
                        | and_(
                            calls.c.state == LIVE,
                            calls.c.answered_at.is_not(None),
                            call_requests.c.status == DIALING,
                        )
                        | and_(
                            calls.c.call_id.is_(None),
                            call_requests.c.dispatched_at <= now - self._timeout,
                        ),
                    )
                    .order_by(call_requests.c.dispatched_at, call_requests.c.id)
                    .limit(self._batch)
                    .with_for_update(of=call_requests, skip_locked=True)
                )
            ).all()
            if not rows:
                return report
            ids = {row.campaign_id for row in rows if row.campaign_id is not None}
            rules = await self._rules.of_campaigns(conn, ids)
            cancelled = await _cancelled_campaigns(conn, ids)
            for row in rows:
                call = RequestedCall.of(row)
                if row.state == LIVE:
                    await conn.execute(
                        update(call_requests)
                        .where(call_requests.c.id == call.id, call_requests.c.status == DIALING)
                        .values(status=IN_PROGRESS, updated_at=now)
                    )
                    report.answered += 1
                    continue
                if row.state == FINISHED:
                    end = DialEnd(
                        outcome=json.loads(row.payload)["status"],
                        ended_at=row.finished_at,
                        sip_status=row.sip_status,
                        retryable=row.retryable,
                    )
                    final_payload = None
                else:  # no worker ever took it
                    end = DialEnd("failed", now, retryable=True, reason=self.timeout_reason)
                    final_payload = self._payload_for(call, now)
                    report.timed_out.append(_current_dispatch(call))
                settled = await conclude(
                    conn,
                    self._store,
                    call,
                    end,
                    rules.get(call.campaign_id or "", Rules()),
                    self._zones.zones(call.to, call.timezone),
                    now=now,
                    final_payload=final_payload,
                    campaign_cancelled=call.campaign_id in cancelled,
                )
                report.settled.append(settled)
        return report

    @unavailable_as_store_error
    async def dispatch_failed(self, job: Dispatch, error: DispatchError) -> Settled | None:
        """The dispatch of ``job`` was refused: a failed dial, retried if ``error`` is
        retryable and the ``failed`` rule allows. None if the call has moved on already
        (settled, or a worker took it after all: its row decides)."""
        now = self._clock()
        async with self._engine.begin() as conn:
            row = (
                await conn.execute(
                    select(*REQUEST_COLUMNS)
                    .where(
                        call_requests.c.id == job.call_id,
                        call_requests.c.status == DIALING,
                        call_requests.c.attempts == job.attempt,
                        ~exists().where(calls.c.call_id == job.call_id),
                    )
                    .with_for_update(of=call_requests)
                )
            ).first()
            if row is None:
                return None
            call = RequestedCall.of(row)
            ids = {call.campaign_id} if call.campaign_id else set()
            rules = await self._rules.of_campaigns(conn, ids)
            end = DialEnd("failed", now, retryable=error.retryable, reason=str(error))
            return await conclude(
                conn,
                self._store,
                call,
                end,
                rules.get(call.campaign_id or "", Rules()),
                self._zones.zones(call.to, call.timezone),
                now=now,
                final_payload=self._payload_for(call, now),
                campaign_cancelled=bool(ids & await _cancelled_campaigns(conn, ids)),
            )

    @unavailable_as_store_error
    async def finish_campaigns(self) -> list[str]:
        """Mark running campaigns whose calls are all over as done; their ids."""
        now = self._clock()
        open_calls = exists().where(
            call_requests.c.campaign_id == campaigns.c.id,
            call_requests.c.status.in_((QUEUED, *UNSETTLED)),
        )
        async with self._engine.begin() as conn:
            done = await conn.execute(
                update(campaigns)
                .where(campaigns.c.status == RUNNING, ~open_calls)
                .values(status=DONE, updated_at=now)
                .returning(campaigns.c.id)
            )
            return sorted(done.scalars())

    def _payload_for(self, call: RequestedCall, now: datetime) -> Callable[[], Payload]:
        """The payload of a dial no worker took, made only if the call is final."""
        started = call.dispatched_at or now
        return lambda: self._unconnected(_current_dispatch(call), started, now)


def _current_dispatch(call: RequestedCall) -> Dispatch:
    return call.dispatch(call.attempts, call.room or call.room_for(call.attempts))


async def _cancelled_campaigns(conn: AsyncConnection, ids: set[str]) -> set[str]:
    if not ids:
        return set()
    found = await conn.scalars(
        select(campaigns.c.id).where(
            campaigns.c.id.in_(sorted(ids)), campaigns.c.status == CAMPAIGN_CANCELLED
        )
    )
    return set(found)
