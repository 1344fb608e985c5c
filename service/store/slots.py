"""Pacing slots taken in the claim's transaction: the trunk's, and each campaign's.

The trunk's row (``trunk_pacing``) and a campaign's row hold when their next dial may go
out. A claim locks them with ``SKIP LOCKED`` (held by another replica: no slot this time,
never a wait), gives the ready calls consecutive trunk slots from now up to the claim's
horizon -- each call only if its campaign's slot and cap allow it at that instant and its
window is open then -- and moves both rows past the slots it took, before committing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from service.scheduler.dispatch import Dispatch
from service.scheduler.pacing import believable, slot_free, take_slot
from service.scheduler.window import next_opening
from service.store.engine import upsert
from service.store.requested import RequestedCall, Rules, ZoneBook
from service.store.schema import (
    DIALING,
    QUEUED,
    RUNNING,
    UNSETTLED,
    call_requests,
    call_steps,
    calls,
    campaigns,
    trunk_pacing,
)

NEVER = datetime(1970, 1, 1, tzinfo=UTC)  # a trunk that has not dialled yet


@dataclass(frozen=True)
class Claimed:
    """A call now ``dialing``: hand ``job`` to the dispatcher at ``at`` (its slot)."""

    job: Dispatch
    at: datetime


@dataclass(frozen=True)
class Trunk:
    name: str
    calls_per_second: float

    async def add(self, engine: AsyncEngine) -> None:
        """Its pacing row, once (a no-op when it exists)."""
        async with engine.begin() as conn:
            await conn.execute(
                upsert(conn, trunk_pacing)
                .values(trunk=self.name, next_dispatch_at=NEVER)
                .on_conflict_do_nothing(index_elements=[trunk_pacing.c.trunk])
            )


@dataclass(frozen=True)
class CampaignPacing:
    id: str
    calls_per_second: float


@dataclass
class _CampaignSlots:
    """A campaign's row as locked by this claim, and what the claim took from it."""

    pacing: CampaignPacing
    next_dispatch_at: datetime | None
    active: int
    concurrency: int
    taken: int = 0

    def allows(self, slot: datetime) -> bool:
        return self.active < self.concurrency and slot_free(self.next_dispatch_at, slot)

    def take(self, slot: datetime) -> None:
        self.next_dispatch_at = take_slot(self.next_dispatch_at, slot, self.pacing.calls_per_second)
        self.active += 1
        self.taken += 1


class DialSlots:
    """One claim's slots; ``trunk_next`` and ``trunk_held`` tell the caller when to look
    again."""

    def __init__(
        self,
        conn: AsyncConnection,
        trunk: Trunk,
        zones: ZoneBook,
        *,
        now: datetime,
        latest: datetime,
    ) -> None:
        self._conn, self._trunk, self._zones = conn, trunk, zones
        self._now, self._latest = now, latest
        self._campaigns: dict[str, _CampaignSlots | None] = {}
        self.trunk_next: datetime | None = None
        self.trunk_held = False  # the trunk had no slot within the horizon for this claim

    async def fill(
        self, ready: list[tuple[RequestedCall, Rules]], pacing: dict[str, CampaignPacing]
    ) -> list[Claimed]:
        """Give ``ready`` calls (in order) the trunk's slots; the calls now dialing."""
        if not ready:
            return []
        row = (
            await self._conn.execute(
                select(trunk_pacing.c.next_dispatch_at)
                .where(trunk_pacing.c.trunk == self._trunk.name)
                .with_for_update(skip_locked=True)
            )
        ).first()
        if row is None:  # another replica is taking the trunk's slots now
            self.trunk_held = True
            return []
        rate = self._trunk.calls_per_second
        self.trunk_next = believable(row.next_dispatch_at, self._latest, rate) or self._now
        slot = max(self.trunk_next, self._now)
        pending, chosen = list(ready), list[tuple[RequestedCall, datetime]]()
        while pending and slot <= self._latest:
            index = await self._pick(pending, slot, pacing)
            if index is None:
                break
            chosen.append((pending.pop(index)[0], slot))
            slot = take_slot(slot, slot, self._trunk.calls_per_second)
        self.trunk_held = not chosen and slot > self._latest
        if not chosen:
            return []
        self.trunk_next = slot
        await self._conn.execute(
            update(trunk_pacing)
            .where(trunk_pacing.c.trunk == self._trunk.name)
            .values(next_dispatch_at=slot)
        )
        for campaign in self._campaigns.values():
            if campaign is not None and campaign.taken:
                await self._conn.execute(
                    update(campaigns)
                    .where(campaigns.c.id == campaign.pacing.id)
                    .values(next_dispatch_at=campaign.next_dispatch_at)
                )
        return await self._start(chosen)

    async def _pick(
        self,
        pending: list[tuple[RequestedCall, Rules]],
        slot: datetime,
        pacing: dict[str, CampaignPacing],
    ) -> int | None:
        """The first pending call that may be dialled at ``slot``."""
        for index, (call, rules) in enumerate(pending):
            zones = self._zones.zones(call.to, call.timezone)
            if next_opening(rules.window, zones, slot) != slot:
                continue  # its window closes before this slot
            if call.campaign_id is not None:
                campaign = await self._campaign(pacing[call.campaign_id])
                if campaign is None or not campaign.allows(slot):
                    continue
                campaign.take(slot)
            return index
        return None

    async def _campaign(self, pacing: CampaignPacing) -> _CampaignSlots | None:
        """The campaign's row, locked on first use; None if it is locked elsewhere (being
        paused, or another replica dials for it) or no longer running."""
        if pacing.id in self._campaigns:
            return self._campaigns[pacing.id]
        row = (
            await self._conn.execute(
                select(campaigns.c.next_dispatch_at, campaigns.c.concurrency)
                .where(campaigns.c.id == pacing.id, campaigns.c.status == RUNNING)
                .with_for_update(skip_locked=True)
            )
        ).first()
        found = None
        if row is not None:
            active = await self._conn.scalar(
                select(func.count())
                .select_from(call_requests)
                .where(
                    call_requests.c.campaign_id == pacing.id,
                    call_requests.c.status.in_(UNSETTLED),
                )
            )
            next_at = believable(row.next_dispatch_at, self._latest, pacing.calls_per_second)
            found = _CampaignSlots(pacing, next_at, active or 0, row.concurrency)
        self._campaigns[pacing.id] = found
        return found

    async def _start(self, chosen: list[tuple[RequestedCall, datetime]]) -> list[Claimed]:
        ids = [call.id for call, _ in chosen]
        # a late result of an earlier attempt must not pass for this one's
        await self._conn.execute(delete(call_steps).where(call_steps.c.call_id.in_(ids)))
        await self._conn.execute(delete(calls).where(calls.c.call_id.in_(ids)))
        claimed: list[Claimed] = []
        values: list[dict[str, Any]] = []
        for call, at in chosen:
            attempt = call.attempts + 1
            room = call.room_for(attempt)
            claimed.append(Claimed(call.dispatch(attempt, room), at))
            values.append({"b_id": call.id, "b_attempt": attempt, "b_at": at, "b_room": room})
        await self._conn.execute(
            update(call_requests)
            .where(call_requests.c.id == bindparam("b_id"), call_requests.c.status == QUEUED)
            .values(
                status=DIALING,
                attempts=bindparam("b_attempt"),
                dispatched_at=bindparam("b_at"),
                room=bindparam("b_room"),
                next_attempt_at=None,
                updated_at=self._now,
            ),
            values,
        )
        return claimed
