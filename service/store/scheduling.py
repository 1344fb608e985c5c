"""Claiming due requested calls: the checks at dial time, then one dial per free slot.

One transaction per claim. The due calls at the head of the queue (in the order they fell
due) are locked with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so replicas claim disjoint
calls; SQLite has one writer at a time (``BEGIN IMMEDIATE``). Each is checked at once: on
the do-not-call list or without a time zone -> ``blocked``; its window closed -> it waits
for the next opening. The first call left that its campaign (running, under its
concurrency cap, its pacing slot free) and the outbound trunk's pacing slot allow becomes
``dialing``. The trunk's and the campaign's rows are taken with ``SKIP LOCKED`` as well and
their next slot moved in the same transaction, so two replicas never share a slot and
never wait on each other (no lock is ever waited for, so none can deadlock).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, bindparam, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from service.scheduler.dispatch import Dispatch
from service.scheduler.pacing import slot_free, take_slot
from service.scheduler.window import next_opening
from service.store.calls import CallStore
from service.store.clock import Clock
from service.store.engine import unavailable_as_store_error, upsert
from service.store.requested import (
    REQUEST_COLUMNS,
    RUNNING,
    RequestedCall,
    RuleBook,
    Rules,
    ZoneBook,
)
from service.store.schema import (
    BLOCKED,
    DIALING,
    QUEUED,
    UNSETTLED,
    call_requests,
    call_steps,
    calls,
    campaigns,
    do_not_call,
    trunk_pacing,
)

ON_DNC = "the number is on the do-not-call list"
NO_ZONE = "no time zone could be found for the number"
NEVER_OPEN = "the calling window never opens in all of the callee's time zones at once"
NEVER = datetime(1970, 1, 1, tzinfo=UTC)  # a trunk that has not dialled yet


@dataclass(frozen=True)
class ClaimResult:
    dispatches: list[Dispatch] = field(default_factory=list)  # now ``dialing``: hand them over
    blocked: int = 0
    deferred: int = 0  # window closed: due again at its next opening
    held_back: bool = False  # ready calls wait for a pacing slot
    next_slot: datetime | None = None  # the earliest pacing slot that may free one

    @property
    def progressed(self) -> bool:
        """Whether this claim changed anything (so another may find more at once)."""
        return bool(self.dispatches or self.blocked or self.deferred)


@dataclass(frozen=True)
class _Campaign:
    id: str
    concurrency: int
    calls_per_second: float
    next_dispatch_at: datetime | None
    active: int  # dialing or in progress
    rules: Rules

    def can_dial(self, now: datetime) -> bool:
        return self.active < self.concurrency and slot_free(self.next_dispatch_at, now)


class SchedulingStore:
    """The claiming half of the scheduler's store (``SettlingStore`` is the other)."""

    def __init__(
        self,
        store: CallStore,
        clock: Clock,
        *,
        trunk: str,
        trunk_calls_per_second: float,
        batch: int = 50,
    ) -> None:
        self._store, self._engine, self._clock = store, store.engine, clock
        self._trunk, self._trunk_rate, self._batch = trunk, trunk_calls_per_second, batch
        self._rules, self._zones = RuleBook(), ZoneBook()
        self._trunk_known = False

    @unavailable_as_store_error
    async def claim_due(self) -> ClaimResult:
        """Check the calls at the head of the queue and dial the first one allowed."""
        now = self._clock()
        if not self._trunk_known:
            await self._add_trunk()
        async with self._engine.begin() as conn:
            running = await self._running_campaigns(conn)
            can_dial = [c.id for c in running.values() if c.can_dial(now)]
            due = await self._due(conn, now, can_dial)
            ready, blocked, deferred = await self._check(conn, due, running, now)
            dispatches, trunk_next, trunk_held = await self._dial_first(conn, ready, running, now)
        held_back = trunk_held or len(ready) > len(dispatches)
        slots = [c.next_dispatch_at for c in running.values() if c.active < c.concurrency]
        if held_back and trunk_next is not None:
            slots.append(trunk_next)
        future = [slot for slot in slots if slot is not None and slot > now]
        return ClaimResult(dispatches, blocked, deferred, held_back, min(future, default=None))

    async def _add_trunk(self) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                upsert(conn, trunk_pacing)
                .values(trunk=self._trunk, next_dispatch_at=NEVER)
                .on_conflict_do_nothing(index_elements=[trunk_pacing.c.trunk])
            )
        self._trunk_known = True

    async def _running_campaigns(self, conn: AsyncConnection) -> dict[str, _Campaign]:
        active = (
            select(func.count())
            .select_from(call_requests)
            .where(
                call_requests.c.campaign_id == campaigns.c.id,
                call_requests.c.status.in_(UNSETTLED),
            )
            .scalar_subquery()
        )
        rows = await conn.execute(
            select(
                campaigns.c.id,
                campaigns.c.window,
                campaigns.c.retry,
                campaigns.c.concurrency,
                campaigns.c.calls_per_second,
                campaigns.c.next_dispatch_at,
                active.label("active"),
            ).where(campaigns.c.status == RUNNING)
        )
        return {
            row.id: _Campaign(
                row.id,
                row.concurrency,
                row.calls_per_second,
                row.next_dispatch_at,
                row.active,
                self._rules.rules(row.window, row.retry),
            )
            for row in rows
        }

    async def _due(
        self, conn: AsyncConnection, now: datetime, campaign_ids: list[str]
    ) -> list[RequestedCall]:
        """The head of the queue among single calls and campaigns that may dial now,
        locked; calls of campaigns at their cap or pacing wait without clogging it."""
        eligible: ColumnElement[bool] = call_requests.c.campaign_id.is_(None)
        if campaign_ids:
            eligible = eligible | call_requests.c.campaign_id.in_(campaign_ids)
        rows = await conn.execute(
            select(*REQUEST_COLUMNS)
            .where(
                call_requests.c.status == QUEUED,
                (call_requests.c.next_attempt_at <= now)
                | call_requests.c.next_attempt_at.is_(None),
                eligible,
            )
            .order_by(call_requests.c.next_attempt_at, call_requests.c.id)
            .limit(self._batch)
            .with_for_update(skip_locked=True)
        )
        return [RequestedCall.of(row) for row in rows]

    async def _check(
        self,
        conn: AsyncConnection,
        due: list[RequestedCall],
        running: dict[str, _Campaign],
        now: datetime,
    ) -> tuple[list[tuple[RequestedCall, Rules]], int, int]:
        """Block or defer what may not be dialled now; the rest, in order, is ready."""
        if not due:
            return [], 0, 0
        listed = set(
            await conn.scalars(
                select(do_not_call.c.number).where(do_not_call.c.number.in_({c.to for c in due}))
            )
        )
        openings: dict[tuple[str, tuple[str, ...]], datetime | None] = {}
        ready: list[tuple[RequestedCall, Rules]] = []
        blocked: list[dict[str, Any]] = []
        deferred: list[dict[str, Any]] = []
        for call in due:
            rules = running[call.campaign_id].rules if call.campaign_id else Rules()
            if call.to in listed:
                blocked.append({"b_id": call.id, "b_reason": ON_DNC})
                continue
            zones = self._zones.zones(call.to, call.timezone)
            if not zones:
                blocked.append({"b_id": call.id, "b_reason": NO_ZONE})
                continue
            key = (rules.key, zones)
            if key not in openings:  # calls of one region and campaign share the answer
                openings[key] = next_opening(rules.window, zones, now)
            opening = openings[key]
            if opening is None:
                blocked.append({"b_id": call.id, "b_reason": NEVER_OPEN})
            elif opening > now:
                deferred.append({"b_id": call.id, "b_next": opening})
            else:
                ready.append((call, rules))
        queued = (call_requests.c.id == bindparam("b_id")) & (call_requests.c.status == QUEUED)
        if blocked:
            await conn.execute(
                update(call_requests)
                .where(queued)
                .values(
                    status=BLOCKED,
                    reason=bindparam("b_reason"),
                    next_attempt_at=None,
                    updated_at=now,
                ),
                blocked,
            )
        if deferred:
            await conn.execute(
                update(call_requests)
                .where(queued)
                .values(next_attempt_at=bindparam("b_next"), updated_at=now),
                deferred,
            )
        return ready, len(blocked), len(deferred)

    async def _dial_first(
        self,
        conn: AsyncConnection,
        ready: list[tuple[RequestedCall, Rules]],
        running: dict[str, _Campaign],
        now: datetime,
    ) -> tuple[list[Dispatch], datetime | None, bool]:
        """Dial the first ready call whose campaign allows it, if the trunk's slot is
        free: (dispatches, the trunk's next slot, whether the trunk held calls back)."""
        if not ready:
            return [], None, False
        trunk_next = await conn.scalar(
            select(trunk_pacing.c.next_dispatch_at)
            .where(trunk_pacing.c.trunk == self._trunk)
            .with_for_update(skip_locked=True)
        )
        if trunk_next is None:  # another replica is taking this slot right now
            return [], None, True
        if not slot_free(trunk_next, now):
            return [], trunk_next, True
        refused: set[str] = set()
        for call, _rules in ready:
            if call.campaign_id is not None:
                if call.campaign_id in refused:
                    continue
                if not await self._take_campaign_slot(conn, running[call.campaign_id], now):
                    refused.add(call.campaign_id)
                    continue
            trunk_next = take_slot(trunk_next, now, self._trunk_rate)
            await conn.execute(
                update(trunk_pacing)
                .where(trunk_pacing.c.trunk == self._trunk)
                .values(next_dispatch_at=trunk_next)
            )
            return [await self._start_dial(conn, call, now)], trunk_next, False
        return [], trunk_next, False

    async def _take_campaign_slot(
        self, conn: AsyncConnection, campaign: _Campaign, now: datetime
    ) -> bool:
        """Take the campaign's pacing slot and a place under its cap, or False; its row is
        locked (skipped if another transaction holds it: pausing it, or dialling for it)."""
        row = (
            await conn.execute(
                select(campaigns.c.next_dispatch_at, campaigns.c.concurrency)
                .where(campaigns.c.id == campaign.id, campaigns.c.status == RUNNING)
                .with_for_update(skip_locked=True)
            )
        ).first()
        if row is None or not slot_free(row.next_dispatch_at, now):
            return False
        active = await conn.scalar(
            select(func.count())
            .select_from(call_requests)
            .where(
                call_requests.c.campaign_id == campaign.id,
                call_requests.c.status.in_(UNSETTLED),
            )
        )
        if (active or 0) >= row.concurrency:
            return False
        await conn.execute(
            update(campaigns)
            .where(campaigns.c.id == campaign.id)
            .values(
                next_dispatch_at=take_slot(row.next_dispatch_at, now, campaign.calls_per_second)
            )
        )
        return True

    async def _start_dial(
        self, conn: AsyncConnection, call: RequestedCall, now: datetime
    ) -> Dispatch:
        attempt = call.attempts + 1
        room = call.room_for(attempt)
        # a late result of an earlier attempt must not pass for this one's
        await conn.execute(delete(call_steps).where(call_steps.c.call_id == call.id))
        await conn.execute(delete(calls).where(calls.c.call_id == call.id))
        await conn.execute(
            update(call_requests)
            .where(call_requests.c.id == call.id, call_requests.c.status == QUEUED)
            .values(
                status=DIALING,
                attempts=attempt,
                dispatched_at=now,
                room=room,
                next_attempt_at=None,
                updated_at=now,
            )
        )
        return call.dispatch(attempt, room)
