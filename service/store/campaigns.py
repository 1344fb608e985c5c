"""Campaigns: many calls of one flow, created at once, paused, resumed or cancelled together.

A campaign's contacts become call requests in one transaction with executemany inserts
(10,000 contacts well within a second). Contacts that cannot be called become ``blocked``
calls with their reason (an invalid number or time zone, no time zone for the number, the
do-not-call list), so the campaign never fails for a bad row. The reported status is
``done`` once no call is queued, dialling or in progress.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Row, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from flows.engine.clock import Clock
from flows.engine.ids import ulid
from flows.engine.json_types import JsonObject
from flows.engine.outcomes import CALL_STATUSES
from service.scheduler.rules import DEFAULT_RETRY, DEFAULT_WINDOW, RetryPolicy, Window
from service.store.api_keys import Caller, charge_quota
from service.store.call_rows import NO_ZONE, sequential_call_ids, zones_of
from service.store.dnc import ON_THE_LIST, listed_numbers
from service.store.engine import unavailable_as_store_error
from service.store.errors import ConflictError, NotFoundError
from service.store.schema import (
    BLOCKED,
    CAMPAIGN_CANCELLED,
    CANCELLED,
    DIALING,
    DONE,
    ENDED,
    IN_PROGRESS,
    PAUSED,
    QUEUED,
    RUNNING,
    CampaignStatus,
    RequestStatus,
    call_requests,
    calls,
    campaigns,
)

CANCELLED_WITH_CAMPAIGN = "the campaign was cancelled"  # a call's reason
# campaign counts: call statuses, with an ended call under its payload's status
COUNTED = (QUEUED, DIALING, IN_PROGRESS, *CALL_STATUSES, BLOCKED, CANCELLED)
ACTIVE = (QUEUED, DIALING, IN_PROGRESS)
CHUNK = 1000  # rows per executemany


@dataclass(frozen=True)
class Contact:
    to: str  # E.164; as given when ``problem`` says it is invalid
    timezone: str | None = None
    metadata: JsonObject = field(default_factory=dict)
    problem: str | None = None  # why it cannot be called, found before the store
    simulate: JsonObject | None = None  # --simulate: the scripted callee


@dataclass(frozen=True)
class NewCampaign:
    name: str
    flow: str
    contacts: Sequence[Contact]
    window: Window = DEFAULT_WINDOW
    retry: RetryPolicy = DEFAULT_RETRY
    concurrency: int = 10
    calls_per_second: float = 1.0


@dataclass(frozen=True)
class CampaignRecord:
    id: str
    name: str
    flow: str
    status: CampaignStatus
    counts: dict[str, int]
    window: Window
    retry: RetryPolicy
    concurrency: int
    calls_per_second: float
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class ResultRow:
    call_id: str
    to: str
    status: RequestStatus
    payload: str | None  # the final payload's stored JSON text, once ended


class Campaigns:
    def __init__(self, engine: AsyncEngine, clock: Clock) -> None:
        self._engine, self._clock = engine, clock

    @unavailable_as_store_error
    async def create(self, new: NewCampaign, caller: Caller) -> CampaignRecord:
        now = self._clock()
        campaign_id = f"cmp_{ulid()}"
        rows = _call_rows(campaign_id, new.flow, new.contacts, caller, now)
        async with self._engine.begin() as conn:
            await charge_quota(conn, caller, len(rows), now)
            await conn.execute(
                insert(campaigns).values(
                    id=campaign_id,
                    name=new.name,
                    flow=new.flow,
                    status=RUNNING,
                    window=new.window.model_dump_json(),
                    retry=new.retry.model_dump_json(),
                    concurrency=new.concurrency,
                    calls_per_second=new.calls_per_second,
                    api_key_id=caller.key_id,
                    created_at=now,
                    updated_at=now,
                )
            )
            callable_numbers = {row["to_number"] for row in rows if row["status"] == QUEUED}
            listed = await conn.run_sync(listed_numbers, callable_numbers)
            for row in rows:
                if row["status"] == QUEUED and row["to_number"] in listed:
                    row.update(status=BLOCKED, reason=ON_THE_LIST, next_attempt_at=None)
            for start in range(0, len(rows), CHUNK):
                await conn.execute(insert(call_requests), rows[start : start + CHUNK])
        counts = dict.fromkeys(COUNTED, 0) | Counter(row["status"] for row in rows)
        return CampaignRecord(
            id=campaign_id,
            name=new.name,
            flow=new.flow,
            status=_reported(RUNNING, counts),
            counts=counts,
            window=new.window,
            retry=new.retry,
            concurrency=new.concurrency,
            calls_per_second=new.calls_per_second,
            created_at=now,
            updated_at=now,
        )

    @unavailable_as_store_error
    async def get(self, campaign_id: str) -> CampaignRecord:
        async with self._engine.connect() as conn:
            return await _record(conn, campaign_id)

    async def pause(self, campaign_id: str) -> CampaignRecord:
        return await self._move(campaign_id, PAUSED)

    async def resume(self, campaign_id: str) -> CampaignRecord:
        return await self._move(campaign_id, RUNNING)

    async def cancel(self, campaign_id: str) -> CampaignRecord:
        """Cancel the campaign and its queued calls; calls under way finish."""
        return await self._move(campaign_id, CAMPAIGN_CANCELLED)

    @unavailable_as_store_error
    async def _move(self, campaign_id: str, status: CampaignStatus) -> CampaignRecord:
        now = self._clock()
        async with self._engine.begin() as conn:
            current = await _record(conn, campaign_id)
            if current.status == status:
                return current
            if current.status in (CAMPAIGN_CANCELLED, DONE):
                raise ConflictError(f"the campaign is {current.status} already")
            await conn.execute(
                update(campaigns)
                .where(campaigns.c.id == campaign_id)
                .values(status=status, updated_at=now)
            )
            if status == CAMPAIGN_CANCELLED:
                await conn.execute(
                    update(call_requests)
                    .where(
                        call_requests.c.campaign_id == campaign_id,
                        call_requests.c.status == QUEUED,
                    )
                    .values(
                        status=CANCELLED,
                        reason=CANCELLED_WITH_CAMPAIGN,
                        next_attempt_at=None,
                        updated_at=now,
                    )
                )
            return await _record(conn, campaign_id)

    async def result_batches(
        self, campaign_id: str, *, batch_size: int = 500
    ) -> AsyncIterator[list[ResultRow]]:
        """Every call of the campaign in creation order, ``batch_size`` at a time; each
        batch is read on a connection of its own, so no connection is held while the
        client reads (on SQLite, the process's one connection serves every request)."""
        query = (
            select(call_requests.c.id, call_requests.c.to_number, call_requests.c.status)
            .add_columns(calls.c.payload)
            .select_from(
                call_requests.outerjoin(
                    calls,
                    (calls.c.call_id == call_requests.c.id) & (call_requests.c.status == ENDED),
                )
            )
            .where(call_requests.c.campaign_id == campaign_id)
            .order_by(call_requests.c.id)
            .limit(batch_size)
        )
        after = ""
        while True:
            async with self._engine.connect() as conn:
                rows = (await conn.execute(query.where(call_requests.c.id > after))).all()
            if rows:
                yield [ResultRow(row.id, row.to_number, row.status, row.payload) for row in rows]
            if len(rows) < batch_size:
                return
            after = rows[-1].id


def _call_rows(
    campaign_id: str, flow: str, contacts: Sequence[Contact], caller: Caller, now: datetime
) -> list[dict[str, Any]]:
    rows = []
    for call_id, contact in zip(sequential_call_ids(len(contacts)), contacts, strict=True):
        reason = contact.problem
        if reason is None and not zones_of(contact.to, contact.timezone):
            reason = NO_ZONE
        rows.append(
            {
                "id": call_id,
                "flow": flow,
                "to_number": contact.to[:64],
                "from_number": None,
                "timezone": contact.timezone if reason is None else None,
                "status": QUEUED if reason is None else BLOCKED,
                "reason": reason,
                "campaign_id": campaign_id,
                "metadata": json.dumps(contact.metadata, ensure_ascii=False),
                "simulate": None
                if contact.simulate is None
                else json.dumps(contact.simulate, ensure_ascii=False),
                "next_attempt_at": now if reason is None else None,
                "api_key_id": caller.key_id,
                "created_at": now,
                "updated_at": now,
            }
        )
    return rows


async def _record(conn: AsyncConnection, campaign_id: str) -> CampaignRecord:
    row = (await conn.execute(select(campaigns).where(campaigns.c.id == campaign_id))).first()
    if row is None:
        raise NotFoundError("no such campaign")
    counts = await _counts(conn, campaign_id)
    return _from_row(row, counts)


async def _counts(conn: AsyncConnection, campaign_id: str) -> dict[str, int]:
    counts: dict[str, int] = dict.fromkeys(COUNTED, 0)
    rows = await conn.execute(
        select(call_requests.c.status, call_requests.c.outcome, func.count())
        .where(call_requests.c.campaign_id == campaign_id)
        .group_by(call_requests.c.status, call_requests.c.outcome)
    )
    for status, outcome, number in rows:
        key = outcome if status == ENDED else status
        if key in counts:
            counts[key] += number
    return counts


def _reported(stored: CampaignStatus, counts: dict[str, int]) -> CampaignStatus:
    if stored in (CAMPAIGN_CANCELLED, DONE):
        return stored
    return stored if any(counts[status] for status in ACTIVE) else DONE


def _from_row(row: Row[Any], counts: dict[str, int]) -> CampaignRecord:
    return CampaignRecord(
        id=row.id,
        name=row.name,
        flow=row.flow,
        status=_reported(row.status, counts),
        counts=counts,
        window=Window.model_validate_json(row.window),
        retry=RetryPolicy.model_validate_json(row.retry),
        concurrency=row.concurrency,
        calls_per_second=row.calls_per_second,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
