"""Requested calls for the scheduler's tests: rows as the HTTP API writes them, a clock
the test moves, and a dispatcher that records what it is handed (and can play a worker)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select
from sqlalchemy.engine import Row

from flows.engine.ids import new_call_id
from service.scheduler.dispatch import Dispatch, DispatchError
from service.scheduler.rules import RetryPolicy, Window
from service.store import CallStore
from service.store.schema import QUEUED, call_attempts, call_requests, campaigns

LOS_ANGELES = "+14155550123"  # America/Los_Angeles only
LONDON = "+447911123456"


def local(text: str, zone: str = "America/Los_Angeles") -> datetime:
    """A wall-clock time in ``zone`` as an aware UTC datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)


class Clock:
    """The injected clock: moves only when told."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


async def add_call(
    store: CallStore,
    *,
    due: datetime,
    to: str = LOS_ANGELES,
    campaign_id: str | None = None,
    timezone: str | None = None,
    flow: str = "customer_feedback",
    metadata: dict[str, Any] | None = None,
    status: str = QUEUED,
    call_id: str | None = None,
) -> str:
    call_id = call_id or new_call_id()
    async with store.engine.begin() as conn:
        await conn.execute(
            insert(call_requests).values(
                id=call_id,
                flow=flow,
                to_number=to,
                from_number="+18005550100",
                timezone=timezone,
                status=status,
                campaign_id=campaign_id,
                metadata=json.dumps(metadata or {"ticket": "T-1"}),
                next_attempt_at=due,
                created_at=due,
                updated_at=due,
            )
        )
    return call_id


async def add_campaign(
    store: CallStore,
    *,
    now: datetime,
    status: str = "running",
    window: Window | None = None,
    retry: RetryPolicy | None = None,
    concurrency: int = 10,
    calls_per_second: float = 1.0,
    campaign_id: str | None = None,
) -> str:
    campaign_id = campaign_id or f"cmp_{new_call_id()[5:]}"
    async with store.engine.begin() as conn:
        await conn.execute(
            insert(campaigns).values(
                id=campaign_id,
                name="test",
                flow="customer_feedback",
                status=status,
                window=(window or Window()).model_dump_json(),
                retry=(retry or RetryPolicy()).model_dump_json(),
                concurrency=concurrency,
                calls_per_second=calls_per_second,
                created_at=now,
                updated_at=now,
            )
        )
    return campaign_id


async def request(store: CallStore, call_id: str) -> Row[Any]:
    async with store.engine.connect() as conn:
        row = (await conn.execute(select(call_requests).where(call_requests.c.id == call_id))).one()
    return row


async def attempts(store: CallStore, call_id: str) -> list[Row[Any]]:
    async with store.engine.connect() as conn:
        rows = await conn.execute(
            select(call_attempts)
            .where(call_attempts.c.call_id == call_id)
            .order_by(call_attempts.c.attempt)
        )
        return list(rows)


Worker = Callable[[Dispatch], Awaitable[None]]


@dataclass
class RecordingDispatcher:
    """Records every dispatch and withdrawal; ``errors`` are raised by the next dispatches
    (one each), and ``worker``, when set, plays the worker that takes each call."""

    dispatched: list[Dispatch] = field(default_factory=list)
    withdrawn: list[Dispatch] = field(default_factory=list)
    errors: list[DispatchError] = field(default_factory=list)
    worker: Worker | None = None

    async def dispatch(self, job: Dispatch) -> None:
        self.dispatched.append(job)
        if self.errors:
            raise self.errors.pop(0)
        if self.worker is not None:
            await self.worker(job)

    async def withdraw(self, job: Dispatch) -> None:
        self.withdrawn.append(job)


def most_in_any_window(instants: list[datetime], length: timedelta) -> int:
    """The most instants any half-open window [t, t + length) holds (the maximum is reached
    by a window starting at one of them)."""
    ordered = sorted(instants)
    most, j = 0, 0
    for i, start in enumerate(ordered):
        while j < len(ordered) and ordered[j] < start + length:
            j += 1
        most = max(most, j - i)
    return most


def within_rate(instants: list[datetime], calls_per_second: float) -> bool:
    """No half-open second holds more than the rate; below 1/s, one per 1/rate seconds."""
    if calls_per_second >= 1:
        return most_in_any_window(instants, timedelta(seconds=1)) <= calls_per_second
    return most_in_any_window(instants, timedelta(seconds=1 / calls_per_second)) <= 1
