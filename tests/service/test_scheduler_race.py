"""Two schedulers on one PostgreSQL database racing over the same due calls."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import datetime, timedelta

import pytest
from conftest import postgres_execute, run_async
from scheduling_support import RecordingDispatcher, add_campaign, local
from sqlalchemy import insert, select

from flows.engine.ids import new_call_id
from flows.spec.catalog import FlowCatalog
from service.scheduler.loop import Scheduler
from service.scheduler.payloads import UnconnectedPayloads
from service.scheduler.rules import DAYS, Window
from service.store import CallStore
from service.store.schema import DIALING, QUEUED, call_requests

CALLS = 1000
RATE = 100  # dials per second on the shared trunk, and for the campaign
SPEED = 20  # clock seconds per real second


class FastClock:
    """Real time, sped up: every scheduler of the test reads the same one."""

    def __init__(self, start: datetime) -> None:
        self._start, self._began = start, time.monotonic()

    def __call__(self) -> datetime:
        return self._start + timedelta(seconds=(time.monotonic() - self._began) * SPEED)


@pytest.mark.postgres
async def test_two_schedulers_dispatch_each_of_1000_calls_exactly_once(
    postgres_database: str, catalog: FlowCatalog
) -> None:
    run_async(
        postgres_execute(postgres_database, "DROP SCHEMA public CASCADE", "CREATE SCHEMA public")
    )
    clock = FastClock(local("2026-07-06T10:00:00"))  # a Monday morning in Los Angeles
    stores = [await CallStore.open(postgres_database, clock=clock) for _ in range(2)]
    try:
        await race(stores, clock, catalog)
    finally:
        for store in stores:
            await store.close()


async def race(stores: list[CallStore], clock: FastClock, catalog: FlowCatalog) -> None:
    every_day = Window.model_validate({"days": list(DAYS)})
    campaign = await add_campaign(
        stores[0], now=clock(), window=every_day, concurrency=CALLS, calls_per_second=RATE
    )
    rows = [
        {
            "id": new_call_id(),
            "flow": "customer_feedback",
            "to_number": f"+1415555{i:04d}",
            "status": QUEUED,
            "campaign_id": campaign if i % 2 else None,
            "metadata": "{}",
            "next_attempt_at": clock(),
            "created_at": clock(),
            "updated_at": clock(),
        }
        for i in range(CALLS)
    ]
    async with stores[0].engine.begin() as conn:
        await conn.execute(insert(call_requests), rows)

    dispatchers = [RecordingDispatcher(), RecordingDispatcher()]
    schedulers = [
        Scheduler(
            store,
            dispatcher,
            UnconnectedPayloads(catalog),
            clock=clock,
            trunk="ST_shared",
            trunk_calls_per_second=RATE,
            dispatch_timeout=3600,
            speed=SPEED,
        )
        for store, dispatcher in zip(stores, dispatchers, strict=True)
    ]
    stop = asyncio.Event()
    tasks = [asyncio.create_task(s.run(stop)) for s in schedulers]
    began = time.monotonic()
    try:
        while sum(len(d.dispatched) for d in dispatchers) < CALLS:
            assert time.monotonic() - began < 20, "1,000 calls took more than 20 s"
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.gather(*tasks)

    counts = Counter(job.call_id for d in dispatchers for job in d.dispatched)
    assert set(counts) == {row["id"] for row in rows}
    assert set(counts.values()) == {1}
    assert all(d.dispatched for d in dispatchers), "both schedulers took part"
    async with stores[0].engine.connect() as conn:
        found = await conn.execute(
            select(call_requests.c.status, call_requests.c.dispatched_at, call_requests.c.attempts)
        )
        dialled = list(found)
    assert {(status, attempts) for status, _, attempts in dialled} == {(DIALING, 1)}
    # the shared trunk never went above its rate in any second
    instants = sorted(at for _, at, _ in dialled)
    j = 0
    for i, start in enumerate(instants):
        while j < len(instants) and instants[j] < start + timedelta(seconds=1):
            j += 1
        assert j - i <= RATE
