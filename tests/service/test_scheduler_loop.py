"""The scheduler loop with a recording dispatcher (playing the worker) and a moving clock."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import pytest
from scheduling_support import (
    Clock,
    RecordingDispatcher,
    add_call,
    add_campaign,
    attempts,
    local,
    request,
)
from sqlalchemy import func, select
from structlog.testing import capture_logs

from flows.engine.payload import Payload
from flows.spec.catalog import FlowCatalog
from service.scheduler.dispatch import Dispatch, DispatchError
from service.scheduler.loop import Scheduler
from service.scheduler.payloads import UnconnectedPayloads
from service.scheduler.rules import DAYS, Window
from service.settings import EndpointSettings
from service.store import CallStore
from service.store.schema import ENDED, QUEUED, deliveries

MakePayload = Callable[..., Payload]
HOOK = EndpointSettings.model_validate(
    {"url": "https://hooks.example/intake", "secrets": ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]}
)


@pytest.fixture
def clock() -> Clock:
    return Clock(local("2026-07-06T12:00:00"))  # a Monday noon in Los Angeles


@pytest.fixture
async def store(tmp_path: object, clock: Clock) -> AsyncIterator[CallStore]:
    async with await CallStore.open(
        f"sqlite:///{tmp_path}/intake.db", endpoints=[HOOK], clock=clock
    ) as opened:
        yield opened


def scheduler(
    store: CallStore, dispatcher: RecordingDispatcher, clock: Clock, catalog: FlowCatalog
) -> Scheduler:
    return Scheduler(store, dispatcher, UnconnectedPayloads(catalog), clock=clock)


def worker_answering(
    store: CallStore, make_payload: MakePayload, outcomes: list[str]
) -> Callable[[Dispatch], object]:
    """A worker that ends each dial with the next outcome (as its payload's status)."""

    async def take(job: Dispatch) -> None:
        status = outcomes.pop(0)
        payload = make_payload(call_id=job.call_id, room=job.room, status=status)
        await store.call_finished(payload, sip_status=486 if status == "busy" else None)

    return take


async def delivered(store: CallStore, call_id: str) -> int:
    async with store.engine.connect() as conn:
        query = select(func.count()).select_from(deliveries).where(deliveries.c.call_id == call_id)
        return int(await conn.scalar(query) or 0)


async def test_busy_is_retried_600_s_later_inside_the_window_then_delivered_once(
    store: CallStore, clock: Clock, catalog: FlowCatalog, make_payload: MakePayload
) -> None:
    dispatcher = RecordingDispatcher()
    dispatcher.worker = worker_answering(store, make_payload, ["busy", "completed"])  # type: ignore[assignment]
    loop = scheduler(store, dispatcher, clock, catalog)
    call_id = await add_call(store, due=clock())

    await loop.run_once()
    row = await request(store, call_id)
    assert (row.status, row.next_attempt_at) == (QUEUED, clock() + timedelta(seconds=600))
    clock.advance(599)
    await loop.run_once()
    assert len(dispatcher.dispatched) == 1
    clock.advance(1)
    await loop.run_once()
    assert [(job.attempt, job.room[-2:]) for job in dispatcher.dispatched] == [(1, "-1"), (2, "-2")]
    row = await request(store, call_id)
    assert (row.status, row.outcome) == (ENDED, "completed")
    assert [a.outcome for a in await attempts(store, call_id)] == ["busy", "completed"]
    assert await delivered(store, call_id) == 1


async def test_a_retry_due_after_the_window_closes_moves_to_its_next_opening(
    store: CallStore, clock: Clock, catalog: FlowCatalog, make_payload: MakePayload
) -> None:
    clock.now = local("2026-07-06T19:58:00")  # Monday, two minutes before 20:00 in LA
    dispatcher = RecordingDispatcher()
    dispatcher.worker = worker_answering(store, make_payload, ["busy", "no_answer"])  # type: ignore[assignment]
    loop = scheduler(store, dispatcher, clock, catalog)
    call_id = await add_call(store, due=clock())
    await loop.run_once()
    tuesday_morning = local("2026-07-07T09:00:00")
    assert (await request(store, call_id)).next_attempt_at == tuesday_morning
    clock.now = tuesday_morning - timedelta(seconds=1)
    await loop.run_once()
    clock.now = tuesday_morning
    await loop.run_once()
    assert [job.attempt for job in dispatcher.dispatched] == [1, 2]
    row = await request(store, call_id)  # no answer: again two hours later
    assert row.next_attempt_at == tuesday_morning + timedelta(hours=2)


async def test_a_dial_no_worker_takes_is_withdrawn_retried_then_failed_and_delivered(
    store: CallStore, clock: Clock, catalog: FlowCatalog
) -> None:
    dispatcher = RecordingDispatcher()
    loop = scheduler(store, dispatcher, clock, catalog)
    call_id = await add_call(store, due=clock())
    await loop.run_once()
    clock.advance(120)
    await loop.run_once()
    assert dispatcher.withdrawn == dispatcher.dispatched
    assert (await request(store, call_id)).next_attempt_at == clock() + timedelta(seconds=900)
    clock.advance(900)
    await loop.run_once()
    clock.advance(120)
    with capture_logs() as logs:
        await loop.run_once()
    assert len(dispatcher.withdrawn) == 2
    row = await request(store, call_id)
    assert (row.status, row.outcome) == (ENDED, "failed")
    payload = await store.get_payload(call_id)
    assert payload is not None and (payload.status, payload.ended_reason) == ("failed", "error")
    assert await delivered(store, call_id) == 1
    assert {"call.dispatch_timeout", "call.settled"} <= {e["event"] for e in logs}
    assert all("+1415" not in json.dumps(e, default=str) for e in logs)  # no caller data


async def test_a_refused_dispatch_is_withdrawn_when_retryable_and_settled(
    store: CallStore, clock: Clock, catalog: FlowCatalog
) -> None:
    dispatcher = RecordingDispatcher(
        errors=[
            DispatchError("LiveKit unreachable", retryable=True),
            DispatchError("LiveKit refused the API key", retryable=False),
        ]
    )
    loop = scheduler(store, dispatcher, clock, catalog)
    call_id = await add_call(store, due=clock())
    await loop.run_once()
    assert dispatcher.withdrawn == dispatcher.dispatched
    clock.advance(900)
    await loop.run_once()
    assert len(dispatcher.withdrawn) == 1  # a final refusal is not withdrawn
    row = await request(store, call_id)
    assert (row.status, row.reason) == (ENDED, "LiveKit refused the API key")


async def test_a_store_that_is_down_is_logged_and_the_loop_goes_on(
    catalog: FlowCatalog, clock: Clock
) -> None:
    down = CallStore.create("postgresql://nobody@127.0.0.1:9/nowhere", clock=clock)
    loop = Scheduler(down, RecordingDispatcher(), UnconnectedPayloads(catalog), clock=clock)
    with capture_logs() as logs:
        wait = await loop.run_once()
    assert wait == 0.5
    failed = [e for e in logs if e["event"] == "scheduler.store_failed"]
    assert [e["phase"] for e in failed] == ["claim", "sweep", "settle", "campaigns"]
    await down.close()


def zone_in_business_hours(now: datetime) -> str:
    """An Etc/GMT zone where it is between 10:00 and 18:00 now."""
    for hours in range(-12, 15):
        if 10 <= (now + timedelta(hours=hours)).hour < 18:
            return f"Etc/GMT{-hours:+d}" if hours else "Etc/UTC"
    raise AssertionError("some zone is always in business hours")


async def test_run_dials_at_the_trunks_rate_not_the_poll_interval(
    tmp_path: object, catalog: FlowCatalog
) -> None:
    # the real clock: three calls at 10 per second go out well within one 5 s poll interval
    async with await CallStore.open(f"sqlite:///{tmp_path}/intake.db") as store:
        now = datetime.now(UTC)
        every_day = await add_campaign(
            store,
            now=now,
            window=Window.model_validate({"start": "08:00", "end": "21:00", "days": list(DAYS)}),
            calls_per_second=10,
        )
        zone = zone_in_business_hours(now)
        for _ in range(3):
            await add_call(store, due=now, campaign_id=every_day, timezone=zone)
        dispatcher = RecordingDispatcher()
        loop = Scheduler(
            store,
            dispatcher,
            UnconnectedPayloads(catalog),
            poll_interval=5,
            trunk_calls_per_second=10,
        )
        stop = asyncio.Event()
        started = asyncio.get_running_loop().time()
        running = asyncio.create_task(loop.run(stop))
        while len(dispatcher.dispatched) < 3:
            await asyncio.sleep(0.01)
            assert asyncio.get_running_loop().time() - started < 2, "paced by the poll interval"
        stop.set()
        await asyncio.wait_for(running, 5)
    assert len({job.call_id for job in dispatcher.dispatched}) == 3


async def test_a_call_whose_worker_died_is_finalised_by_the_loops_sweep(
    store: CallStore, clock: Clock, catalog: FlowCatalog, make_payload: MakePayload
) -> None:
    async def starts_then_dies(job: Dispatch) -> None:
        await store.call_started(make_payload(call_id=job.call_id, room=job.room), worker_id="w")

    dispatcher = RecordingDispatcher()
    dispatcher.worker = starts_then_dies
    loop = scheduler(store, dispatcher, clock, catalog)
    call_id = await add_call(store, due=clock())
    await loop.run_once()
    clock.advance(61)  # no heartbeat for longer than orphan_after
    with capture_logs() as logs:
        await loop.run_once()  # swept, then settled
    assert "call.orphan_finalised" in {e["event"] for e in logs}
    row = await request(store, call_id)
    assert (row.status, row.outcome) == (ENDED, "incomplete")  # never dialled again
    assert await delivered(store, call_id) == 1


def test_the_scheduler_never_imports_livekit_agents() -> None:
    # `intake serve` runs the scheduler and must not load the agents framework
    import subprocess
    import sys

    code = (
        "import sys, service.scheduler.loop, service.scheduler.livekit;"
        "print(sorted(m for m in sys.modules if m.startswith('livekit.agents')))"
    )
    found = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert found.strip() == "[]"
