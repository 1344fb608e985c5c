"""Claiming due requested calls: the checks at dial time, then a dial per free slot.

One transaction per claim. The due calls at the head of the queue (in the order they fell
due; calls of campaigns that cannot dial now are left out, so they never clog it) are
locked with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so replicas claim disjoint calls;
SQLite has one writer at a time (``BEGIN IMMEDIATE``). Each is checked at once: on the
do-not-call list or without a time zone -> ``blocked``; its window closed -> it waits for
the next opening (none within a week -> ``blocked``). The calls left get the outbound
trunk's pacing slots, in order, as their campaign allows (``slots``): each becomes
``dialing`` with its slot as ``dispatched_at``. The trunk's and the campaigns' rows are
taken with ``SKIP LOCKED`` too and moved in the same transaction, so two replicas never
share a slot and never wait on each other (no lock is waited for, so none can deadlock).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from flows.engine.clock import Clock
from service.scheduler.dispatch import Dispatch
from service.scheduler.pacing import believable, slot_free
from service.scheduler.window import next_opening
from service.store.calls import CallStore
from service.store.engine import unavailable_as_store_error
from service.store.requested import (
    REQUEST_COLUMNS,
    RequestedCall,
    RuleBook,
    Rules,
    ZoneBook,
)
from service.store.schema import (
    BLOCKED,
    QUEUED,
    RUNNING,
    UNSETTLED,
    call_requests,
    campaigns,
    do_not_call,
)
from service.store.slots import CampaignPacing, Claimed, DialSlots, Trunk

ON_DNC = "the number is on the do-not-call list"
NO_ZONE = "no time zone could be found for the number"
NEVER_OPEN = "the calling window never opens in all of the callee's time zones at once"


@dataclass(frozen=True)
class ClaimResult:
    claimed: list[Claimed] = field(default_factory=list)  # now ``dialing``, each at its slot
    blocked: int = 0
    deferred: int = 0  # window closed: due again at its next opening
    held_back: bool = False  # ready calls wait for a pacing slot
    next_slot: datetime | None = None  # the earliest pacing slot that may free one

    @property
    def dispatches(self) -> list[Dispatch]:
        return [claim.job for claim in self.claimed]

    @property
    def progressed(self) -> bool:
        """Whether this claim changed anything (so another may find more at once)."""
        return bool(self.claimed or self.blocked or self.deferred)


@dataclass(frozen=True)
class _Campaign:
    id: str
    concurrency: int
    calls_per_second: float
    next_dispatch_at: datetime | None
    active: int  # dialing or in progress
    rules: Rules

    def can_dial(self, latest: datetime) -> bool:
        next_at = believable(self.next_dispatch_at, latest, self.calls_per_second)
        return self.active < self.concurrency and slot_free(next_at, latest)

    def as_pacing(self) -> CampaignPacing:
        return CampaignPacing(self.id, self.calls_per_second)


class SchedulingStore:
    """The claiming half of the scheduler's store (``SettlingStore`` is the other)."""

    def __init__(
        self,
        store: CallStore,
        clock: Clock,
        *,
        trunk: str,
        trunk_calls_per_second: float,
        horizon: timedelta = timedelta(0),
        batch: int = 100,
    ) -> None:
        """``horizon``: how far ahead of now a claim may take pacing slots (the caller
        dispatches each call at its slot), so one claim can fill a fast trunk's next
        moments instead of one claim per slot; 0: only a slot free now."""
        self._engine, self._clock = store.engine, clock
        self._batch, self._horizon = batch, horizon
        self._trunk = Trunk(trunk, trunk_calls_per_second)
        self._rules, self._zones = RuleBook(), ZoneBook()
        self._trunk_known = False

    @unavailable_as_store_error
    async def claim_due(self) -> ClaimResult:
        """Check the calls at the head of the queue, and dial those the pacing slots up to
        ``horizon`` from now allow."""
        now = self._clock()
        latest = now + self._horizon
        if not self._trunk_known:
            await self._trunk.add(self._engine)
            self._trunk_known = True
        async with self._engine.begin() as conn:
            running = await self._running_campaigns(conn)
            can_dial = [c.id for c in running.values() if c.can_dial(latest)]
            due = await self._due(conn, now, can_dial)
            ready, blocked, deferred = await self._check(conn, due, running, now)
            slots = DialSlots(conn, self._trunk, self._zones, now=now, latest=latest)
            claimed = await slots.fill(ready, {c.id: c.as_pacing() for c in running.values()})
        held_back = slots.trunk_held or len(ready) > len(claimed)
        upcoming = [c.next_dispatch_at for c in running.values() if c.active < c.concurrency]
        if held_back:
            upcoming.append(slots.trunk_next)
        future = [slot for slot in upcoming if slot is not None and slot > now]
        return ClaimResult(claimed, blocked, deferred, held_back, min(future, default=None))

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
