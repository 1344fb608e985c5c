"""Claiming and settling requested calls in the store, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import run_async
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scheduling_support import (
    LONDON,
    LOS_ANGELES,
    Clock,
    add_call,
    add_campaign,
    attempts,
    local,
    request,
    within_rate,
)
from sqlalchemy import func, select

from flows.engine.payload import Payload
from flows.spec.catalog import FlowCatalog
from service.scheduler.dispatch import Dispatch, DispatchError
from service.scheduler.payloads import UnconnectedPayloads
from service.scheduler.rules import Retry, RetryPolicy, Window
from service.settings import EndpointSettings
from service.store import CallStore
from service.store.scheduling import NEVER_OPEN, NO_ZONE, ON_DNC, SchedulingStore
from service.store.schema import (
    BLOCKED,
    DIALING,
    ENDED,
    IN_PROGRESS,
    QUEUED,
    call_requests,
    call_steps,
    calls,
    campaigns,
    deliveries,
    trunk_pacing,
)
from service.store.settling import SettlingStore
from sip.dialing import OutboundJob, parse_job_metadata

MakePayload = Callable[..., Payload]
MONDAY_NOON = local("2026-07-06T12:00:00")  # Los Angeles
HOOK = EndpointSettings.model_validate(
    {"url": "https://hooks.example/intake", "secrets": ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]}
)


@pytest.fixture
def now() -> Clock:
    return Clock(MONDAY_NOON)


@pytest.fixture
async def store(store_url: str, now: Clock) -> AsyncIterator[CallStore]:
    async with await CallStore.open(store_url, endpoints=[HOOK], clock=now) as opened:
        yield opened


def claimer(store: CallStore, now: Clock, rate: float = 1.0) -> SchedulingStore:
    return SchedulingStore(store, now, trunk="ST_test", trunk_calls_per_second=rate)


def settler(store: CallStore, now: Clock, catalog: FlowCatalog) -> SettlingStore:
    return SettlingStore(
        store, now, UnconnectedPayloads(catalog), dispatch_timeout=timedelta(seconds=120)
    )


async def count(store: CallStore, table: object, *where: object) -> int:
    async with store.engine.connect() as conn:
        query = select(func.count()).select_from(table).where(*where)  # type: ignore[arg-type]
        return int(await conn.scalar(query) or 0)


# --- claiming ----------------------------------------------------------------------------


async def test_a_due_call_is_dialled_once_with_its_job_metadata(
    store: CallStore, now: Clock
) -> None:
    first = await add_call(store, due=now(), metadata={"ticket": "T-7"})
    second = await add_call(store, due=now())
    later = await add_call(store, due=now() + timedelta(hours=1))
    claims = claimer(store, now)

    claimed = await claims.claim_due()
    [job] = claimed.dispatches
    assert job.call_id == first and job.attempt == 1
    assert job.room == f"call-{first.removeprefix('call_').lower()}-1"
    assert parse_job_metadata(json.dumps(job.job_metadata())) == OutboundJob.model_validate(
        {
            "call_id": first,
            "to": LOS_ANGELES,
            "from": "+18005550100",
            "flow": "customer_feedback",
            "metadata": {"ticket": "T-7"},
        }
    )
    row = await request(store, first)
    assert (row.status, row.attempts, row.dispatched_at, row.room) == (
        DIALING,
        1,
        now(),
        job.room,
    )
    # the trunk dials once a second: the second call waits for the next slot
    assert claimed.held_back and claimed.next_slot == now() + timedelta(seconds=1)
    assert (await claims.claim_due()).dispatches == []
    now.advance(1)
    assert [j.call_id for j in (await claims.claim_due()).dispatches] == [second]
    now.advance(1)
    assert (await claims.claim_due()).dispatches == []  # the third is not due yet
    assert (await request(store, later)).status == QUEUED


async def test_checks_at_dial_time_block_or_defer(store: CallStore, now: Clock) -> None:
    listed = await add_call(store, due=now())
    await store.dnc.add(LOS_ANGELES, source="api")  # after the call was queued
    nowhere = await add_call(store, due=now(), to=LONDON, timezone="Mars/Olympus_Mons")
    everywhere = await add_call(store, due=now(), to="+18005550100")  # toll-free: every US zone
    asleep = await add_call(store, due=now(), to=LONDON)  # 20:00 in London: closed
    claimed = await claimer(store, now).claim_due()
    assert claimed.dispatches == [] and (claimed.blocked, claimed.deferred) == (3, 1)
    reasons = {c: ((r := await request(store, c)).status, r.reason) for c in (listed, nowhere)}
    assert reasons == {listed: (BLOCKED, ON_DNC), nowhere: (BLOCKED, NO_ZONE)}
    assert (await request(store, everywhere)).reason == NEVER_OPEN
    row = await request(store, asleep)
    assert (row.status, row.next_attempt_at) == (QUEUED, local("2026-07-07T09:00", "Europe/London"))


async def test_a_leftover_result_of_an_earlier_dial_is_removed_when_dialling(
    store: CallStore, now: Clock, make_payload: MakePayload
) -> None:
    call_id = await add_call(store, due=now())
    await store.call_finished(make_payload(call_id=call_id, status="busy"))
    assert await count(store, calls, calls.c.call_id == call_id) == 1
    [job] = (await claimer(store, now).claim_due()).dispatches
    assert job.call_id == call_id
    assert await count(store, calls, calls.c.call_id == call_id) == 0
    assert await count(store, deliveries) == 0  # a queued request's result is never sent


async def test_campaigns_dial_while_running_under_their_cap_and_pace(
    store: CallStore, now: Clock
) -> None:
    paused = await add_campaign(store, now=now(), status="paused")
    capped = await add_campaign(store, now=now(), concurrency=1, calls_per_second=100)
    slow = await add_campaign(store, now=now(), calls_per_second=0.5)
    await add_call(store, due=now(), campaign_id=paused)
    capped_calls = [await add_call(store, due=now(), campaign_id=capped) for _ in range(2)]
    slow_calls = [await add_call(store, due=now(), campaign_id=slow) for _ in range(2)]
    claims = claimer(store, now, rate=100)

    dialled: list[str] = []
    for _ in range(40):  # four seconds of claims, ten a second
        dialled += [job.call_id for job in (await claims.claim_due()).dispatches]
        now.advance(0.1)
    # the capped campaign has one call in progress, the slow one dials every two seconds
    assert sorted(dialled) == sorted([capped_calls[0], *slow_calls])
    assert (await request(store, capped_calls[1])).status == QUEUED


# --- settling ----------------------------------------------------------------------------


async def dial(store: CallStore, now: Clock, **call: object) -> Dispatch:
    call_id = await add_call(store, due=now(), **call)  # type: ignore[arg-type]
    [job] = (await claimer(store, now).claim_due()).dispatches
    assert job.call_id == call_id
    return job


async def test_a_busy_dial_is_retried_and_a_completed_one_delivered_once(
    store: CallStore, now: Clock, catalog: FlowCatalog, make_payload: MakePayload
) -> None:
    settle = settler(store, now, catalog)
    call_id = (await dial(store, now)).call_id
    await store.call_started(make_payload(call_id=call_id), worker_id="w1")
    assert (await settle.settle()).answered == 0  # ringing
    async with store.engine.begin() as conn:
        await conn.execute(calls.update().values(answered_at=now()))
    assert (await settle.settle()).answered == 1
    assert (await request(store, call_id)).status == IN_PROGRESS

    now.advance(30)
    await store.step_completed(call_id, "patient", make_payload(call_id=call_id))
    await store.call_finished(make_payload(call_id=call_id, status="busy"), sip_status=486)
    assert await count(store, deliveries) == 0  # not final yet: nothing is sent
    [settled] = (await settle.settle()).settled
    assert settled.retry_at == now() + timedelta(seconds=600)
    row = await request(store, call_id)
    assert (row.status, row.next_attempt_at, row.attempts) == (QUEUED, settled.retry_at, 1)
    assert [(a.attempt, a.outcome, a.sip_status) for a in await attempts(store, call_id)] == [
        (1, "busy", 486)
    ]
    assert await count(store, calls) == 0 and await count(store, call_steps) == 0

    now.advance(600)
    [job] = (await claimer(store, now).claim_due()).dispatches
    assert (job.attempt, job.room[-2:]) == (2, "-2")
    completed = make_payload(call_id=call_id, status="completed")
    await store.call_finished(completed)
    [settled] = (await settle.settle()).settled
    assert settled.retry_at is None
    row = await request(store, call_id)
    assert (row.status, row.outcome) == (ENDED, "completed")
    assert await store.get_payload(call_id) == completed
    assert await count(store, deliveries, deliveries.c.call_id == call_id) == 1
    assert (await settle.settle()).settled == []  # settled once


async def test_no_worker_within_the_timeout_is_a_retryable_failure_then_final(
    store: CallStore, now: Clock, catalog: FlowCatalog
) -> None:
    settle = settler(store, now, catalog)
    call_id = (await dial(store, now)).call_id
    now.advance(119)
    assert (await settle.settle()).timed_out == []
    now.advance(1)
    report = await settle.settle()
    assert [job.call_id for job in report.timed_out] == [call_id]
    [settled] = report.settled
    assert (settled.outcome, settled.retry_at) == ("failed", now() + timedelta(seconds=900))
    [attempt] = await attempts(store, call_id)
    assert (attempt.retryable, attempt.reason) == (True, "no worker took the call within 120 s")

    now.advance(900)
    await claimer(store, now).claim_due()
    now.advance(120)
    [settled] = (await settle.settle()).settled
    assert settled.retry_at is None  # two dials in all for `failed`
    payload = await store.get_payload(call_id)
    assert payload is not None
    assert (payload.status, payload.ended_reason) == ("failed", "error")
    assert (payload.direction, payload.to, payload.metadata) == (
        "outbound",
        LOS_ANGELES,
        {"ticket": "T-1"},
    )
    assert payload.room.endswith("-2") and payload.started_at < payload.ended_at
    assert set(payload.results) == {s.id for s in catalog.load("customer_feedback").steps}
    assert all(v is None for step in payload.results.values() for v in step.values())
    assert await count(store, deliveries, deliveries.c.call_id == call_id) == 1
    assert (await request(store, call_id)).outcome == "failed"


async def test_a_refused_dispatch_is_a_failed_dial(
    store: CallStore, now: Clock, catalog: FlowCatalog
) -> None:
    settle = settler(store, now, catalog)
    job = await dial(store, now)
    settled = await settle.dispatch_failed(job, DispatchError("unreachable", retryable=True))
    assert settled is not None and settled.retry_at == now() + timedelta(seconds=900)
    now.advance(1)
    job = await dial(store, now)
    refused = DispatchError("LiveKit refused the API key", retryable=False)
    settled = await settle.dispatch_failed(job, refused)
    assert settled is not None and settled.retry_at is None
    row = await request(store, job.call_id)
    assert (row.status, row.outcome, row.reason) == (ENDED, "failed", str(refused))
    assert await count(store, deliveries, deliveries.c.call_id == job.call_id) == 1
    assert await settle.dispatch_failed(job, refused) is None  # reported twice: no change


async def test_an_orphan_is_delivered_when_settled_and_superseded_by_the_real_payload(
    store: CallStore, now: Clock, catalog: FlowCatalog, make_payload: MakePayload
) -> None:
    settle = settler(store, now, catalog)
    call_id = (await dial(store, now)).call_id
    await store.call_started(make_payload(call_id=call_id, status="incomplete"), worker_id="w")
    now.advance(61)
    assert await store.sweep_orphans(stale_after=timedelta(seconds=60)) == [call_id]
    assert await count(store, deliveries) == 0  # the scheduler decides, once
    [settled] = (await settle.settle()).settled
    assert (settled.outcome, settled.retry_at) == ("incomplete", None)
    [orphans] = {d.webhook_id for d in await store.outbox.recent()}

    real = make_payload(call_id=call_id, status="completed")
    await store.call_finished(real)  # from the worker's spool, later
    assert await store.get_payload(call_id) == real
    assert (await request(store, call_id)).outcome == "completed"
    records = await store.outbox.recent()
    assert sorted(r.status for r in records) == ["pending", "superseded"]
    assert len({r.webhook_id for r in records} - {orphans}) == 1


async def test_campaign_rules_retries_and_done(
    store: CallStore, now: Clock, catalog: FlowCatalog, make_payload: MakePayload
) -> None:
    once = RetryPolicy(busy=Retry(attempts=1, after=60))
    campaign = await add_campaign(store, now=now(), retry=once, window=Window(days=["mon"]))
    call_id = (await dial(store, now, campaign_id=campaign)).call_id
    await store.call_finished(make_payload(call_id=call_id, status="busy"))
    [settled] = (await settler(store, now, catalog).settle()).settled
    assert settled.retry_at is None  # the campaign allows one dial when busy
    assert await settler(store, now, catalog).finish_campaigns() == [campaign]
    async with store.engine.connect() as conn:
        assert await conn.scalar(select(campaigns.c.status)) == "done"

    # a cancelled campaign's call is not dialled again
    other = await add_campaign(store, now=now())
    now.advance(1)
    call_id = (await dial(store, now, campaign_id=other)).call_id
    async with store.engine.begin() as conn:
        await conn.execute(
            campaigns.update().where(campaigns.c.id == other).values(status="cancelled")
        )
    await store.call_finished(make_payload(call_id=call_id, status="no_answer"))
    [settled] = (await settler(store, now, catalog).settle()).settled
    assert settled.retry_at is None and (await request(store, call_id)).status == ENDED
    assert await settler(store, now, catalog).finish_campaigns() == []


async def test_a_claim_takes_the_trunks_slots_up_to_its_horizon(
    store: CallStore, now: Clock
) -> None:
    calls_ = [await add_call(store, due=now()) for _ in range(5)]
    claims = SchedulingStore(
        store, now, trunk="ST_test", trunk_calls_per_second=3, horizon=timedelta(seconds=1)
    )
    claimed = await claims.claim_due()
    spacing = timedelta(microseconds=333_334)
    assert [(c.job.call_id, c.at) for c in claimed.claimed] == [
        (calls_[0], now()),
        (calls_[1], now() + spacing),
        (calls_[2], now() + 2 * spacing),
    ]
    assert [(await request(store, c)).dispatched_at for c in calls_[:3]] == [
        c.at for c in claimed.claimed
    ]
    assert claimed.held_back and claimed.next_slot == now() + 3 * spacing
    assert (await claims.claim_due()).dispatches == []  # that slot is past the horizon
    now.advance(0.5)
    assert [j.call_id for j in (await claims.claim_due()).dispatches] == calls_[3:]


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty, migrated SQLite file to copy: migrating for each example is the slow part."""
    path = tmp_path_factory.mktemp("template") / "intake.db"

    async def create() -> None:
        await (await CallStore.open(f"sqlite:///{path}")).close()

    run_async(create())
    return path


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    trunk_rate=st.sampled_from([2.5, 1.5, 0.5, 4]),
    campaign_rate=st.sampled_from([0.7, 1, 3]),
    horizon=st.sampled_from([1, 0.4, 0]),
    steps=st.lists(st.integers(1, 900_000), min_size=20, max_size=40),
)
async def test_claims_through_the_store_keep_every_second_within_the_rates(
    tmp_path_factory: pytest.TempPathFactory,
    migrated: Path,
    trunk_rate: float,
    campaign_rate: float,
    horizon: float,
    steps: list[int],
) -> None:
    now = Clock(MONDAY_NOON)
    path = tmp_path_factory.mktemp("pacing") / "intake.db"
    shutil.copy(migrated, path)
    async with await CallStore.open(f"sqlite:///{path}", clock=now) as store:
        campaign = await add_campaign(store, now=now(), calls_per_second=campaign_rate)
        async with store.engine.begin() as conn:
            await conn.execute(
                call_requests.insert(),
                [
                    {
                        "id": f"call_{i:026d}",
                        "flow": "customer_feedback",
                        "to_number": LOS_ANGELES,
                        "status": QUEUED,
                        "campaign_id": campaign if i % 2 else None,
                        "metadata": "{}",
                        "next_attempt_at": now(),
                        "created_at": now(),
                        "updated_at": now(),
                    }
                    for i in range(40)
                ],
            )
        claims = SchedulingStore(
            store,
            now,
            trunk="ST_test",
            trunk_calls_per_second=trunk_rate,
            horizon=timedelta(seconds=horizon),
        )
        for step in steps:  # claims at random moments, up to 0.9 s apart
            for claimed in (await claims.claim_due()).claimed:
                assert now() <= claimed.at <= now() + timedelta(seconds=horizon)
            now.advance(step / 1e6)
        async with store.engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(call_requests.c.campaign_id, call_requests.c.dispatched_at).where(
                        call_requests.c.dispatched_at.is_not(None)
                    )
                )
            ).all()
    assert rows, "some calls were dialled"
    assert within_rate([at for _, at in rows], trunk_rate)
    assert within_rate([at for cid, at in rows if cid == campaign], campaign_rate)


async def test_slots_set_by_a_clock_that_went_back_are_not_waited_for(
    store: CallStore, now: Clock
) -> None:
    # e.g. `intake serve --simulate --now` a day ahead earlier, and the real clock now
    campaign = await add_campaign(store, now=now())
    call_id = await add_call(store, due=now(), campaign_id=campaign)
    claims = claimer(store, now)
    await claims.claim_due()  # dials it, and creates the trunk's row
    async with store.engine.begin() as conn:
        await conn.execute(trunk_pacing.update().values(next_dispatch_at=now() + timedelta(days=1)))
        await conn.execute(campaigns.update().values(next_dispatch_at=now() + timedelta(days=1)))
        await conn.execute(
            call_requests.update().values(status=QUEUED, attempts=0, next_attempt_at=now())
        )
    assert [j.call_id for j in (await claims.claim_due()).dispatches] == [call_id]
    # while a slot a second ahead is real, and waited for
    await add_call(store, due=now())
    assert (await claims.claim_due()).dispatches == []
