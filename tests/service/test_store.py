"""The store on SQLite and PostgreSQL: migrations, live calls, the outbox, orphans."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from flows.engine.payload import Payload
from service.settings import EndpointSettings
from service.store import (
    DELIVERED,
    PENDING,
    SUPERSEDED,
    Attempt,
    CallStore,
    DeliveryResult,
    DueDelivery,
    StoreUnavailableError,
    UnknownCallError,
    UnknownDeliveryError,
    Verdict,
)
from service.store.engine import create_engine
from service.store.outbox import VerdictStatus
from service.store.schema import call_steps, calls, deliveries, metadata

if TYPE_CHECKING:
    from conftest import FakeClock

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
MakePayload = Callable[..., Payload]


def endpoint(url: str, flows: list[str] | None = None) -> EndpointSettings:
    return EndpointSettings.model_validate({"url": url, "secrets": [SECRET], "flows": flows})


async def count(engine: AsyncEngine, table: object, *where: object) -> int:
    async with engine.connect() as conn:
        query = select(func.count()).select_from(table).where(*where)  # type: ignore[arg-type]
        return int(await conn.scalar(query) or 0)


async def test_migrations_build_the_schema_the_code_queries(store_url: str) -> None:
    # three processes starting at once take turns; the schema then matches schema.py exactly
    stores = await asyncio.gather(*(CallStore.open(store_url) for _ in range(3)))
    for store in stores:
        await store.close()
    engine = create_engine(store_url)

    def differences(connection: Connection) -> list[object]:
        return list(compare_metadata(MigrationContext.configure(connection), metadata))

    async with engine.connect() as conn:
        assert await conn.run_sync(differences) == []
    await engine.dispose()


async def test_a_call_from_start_to_payload(store_url: str, make_payload: MakePayload) -> None:
    async with await CallStore.open(
        store_url, endpoints=[endpoint("https://a.example/hook")]
    ) as store:
        snapshot = make_payload(status="incomplete", ended_reason="caller_hangup")
        await store.call_started(snapshot, worker_id="worker-1")
        await store.step_completed(snapshot.call_id, "patient", snapshot)
        await store.step_completed(snapshot.call_id, "patient", snapshot)  # a correction
        assert await store.get_payload(snapshot.call_id) is None  # live: no final payload yet
        final = make_payload(call_id=snapshot.call_id)
        await store.call_finished(final)
        await store.call_finished(make_payload(call_id=snapshot.call_id, status="failed"))  # no-op
        assert await store.get_payload(snapshot.call_id) == final
        engine = store._engine
        assert await count(engine, call_steps) == 1
        assert await count(engine, deliveries, deliveries.c.call_id == final.call_id) == 1


async def answered_at(store: CallStore, call_id: str) -> object:
    async with store._engine.connect() as conn:
        return await conn.scalar(select(calls.c.answered_at).where(calls.c.call_id == call_id))


async def test_an_answer_is_recorded_once_and_only_while_the_call_is_live(
    store_url: str, make_payload: MakePayload, clock: FakeClock
) -> None:
    async with await CallStore.open(store_url, clock=clock) as store:
        snapshot = make_payload(direction="outbound")
        await store.call_started(snapshot, worker_id="worker-1")
        assert await answered_at(store, snapshot.call_id) is None  # ringing
        clock.advance(7)
        picked_up = clock()
        await store.call_answered(snapshot.call_id)
        assert await answered_at(store, snapshot.call_id) == picked_up  # aware UTC, both DBs
        clock.advance(5)
        await store.call_answered(snapshot.call_id)  # a second report keeps the first time
        assert await answered_at(store, snapshot.call_id) == picked_up

        late = make_payload(direction="outbound")  # finished before its answer was written
        await store.call_started(late, worker_id="worker-1")
        await store.call_finished(late)
        await store.call_answered(late.call_id)
        await store.call_answered("call_unknown")  # nothing to update: not an error
        assert await answered_at(store, late.call_id) is None


async def test_outbox_rows_follow_the_endpoints_flow_filters(
    store_url: str, make_payload: MakePayload
) -> None:
    endpoints = [
        endpoint("https://all.example/hook"),
        endpoint("https://intake.example/hook", flows=["patient_intake"]),
        endpoint("https://leads.example/hook", flows=["lead_qualification"]),
    ]
    async with await CallStore.open(store_url, endpoints=endpoints) as store:
        payload = make_payload(flow="patient_intake")
        await store.call_finished(payload)
        records = await store.outbox.recent()
        assert sorted(r.endpoint_url for r in records) == [
            "https://all.example/hook",
            "https://intake.example/hook",
        ]
        assert len({r.webhook_id for r in records}) == 1  # one message, whichever endpoint
        assert await store.outbox.of_call(payload.call_id) == sorted(r.id for r in records)


async def test_orphans_are_finalised_from_their_newest_snapshot(
    store_url: str, make_payload: MakePayload, clock: FakeClock
) -> None:
    async with await CallStore.open(
        store_url, endpoints=[endpoint("https://a.example/hook")], clock=clock
    ) as store:
        dead, alive = make_payload(), make_payload()
        await store.call_started(dead, worker_id="w1")
        await store.call_started(alive, worker_id="w2")
        newest = make_payload(call_id=dead.call_id, metadata={"step": "two"})
        await store.step_completed(dead.call_id, "patient", newest)
        clock.advance(50)
        await store.heartbeat(alive.call_id)
        clock.advance(20)
        assert await store.sweep_orphans(stale_after=timedelta(seconds=60)) == [dead.call_id]
        assert await store.sweep_orphans(stale_after=timedelta(seconds=60)) == []
        payload = await store.get_payload(dead.call_id)
        assert payload is not None
        assert (payload.status, payload.ended_reason) == ("incomplete", "error")
        assert payload.metadata == {"step": "two"} and payload.ended_at.endswith("Z")
        assert await store.outbox.of_call(dead.call_id)  # queued like any finished call
        # a late step or heartbeat of a worker that was only slow changes nothing
        await store.step_completed(dead.call_id, "contact", make_payload(call_id=dead.call_id))
        await store.heartbeat(dead.call_id)
        assert await store.get_payload(dead.call_id) == payload
        assert len(await store.outbox.of_call(dead.call_id)) == 1


async def test_the_real_payload_supersedes_an_orphans_under_a_new_webhook_id(
    store_url: str, make_payload: MakePayload, clock: FakeClock
) -> None:
    endpoints = [endpoint("https://a.example/hook"), endpoint("https://b.example/hook")]
    async with await CallStore.open(store_url, endpoints=endpoints, clock=clock) as store:
        snapshot = make_payload(status="incomplete", ended_reason="caller_hangup")
        await store.call_started(snapshot, worker_id="cut-off")
        clock.advance(70)
        assert await store.sweep_orphans(stale_after=timedelta(seconds=60)) == [snapshot.call_id]
        # endpoint a got the orphan's payload; b's attempt is in flight when the real one comes
        claimed = await store.outbox.claim_due(5, lease=timedelta(seconds=30))
        orphan_id = {due.webhook_id for due in claimed}.pop()
        to_a, to_b = sorted(claimed, key=lambda due: due.endpoint_url)
        await store.outbox.record([result(to_a, DELIVERED, clock)])

        real = make_payload(call_id=snapshot.call_id, ended_reason="caller_hangup")
        await store.call_finished(real, sip_status=None, retryable=None)
        assert await store.get_payload(real.call_id) == real
        await store.outbox.record([result(to_b, PENDING, clock)])  # b's attempt failed: no retry

        records = sorted(await store.outbox.recent(), key=lambda r: r.id)
        assert [(r.endpoint_url[8:9], r.webhook_id == orphan_id, r.status) for r in records] == [
            ("a", True, DELIVERED),
            ("b", True, SUPERSEDED),
            ("a", False, PENDING),
            ("b", False, PENDING),
        ]
        new_ids = {r.webhook_id for r in records[2:]}
        assert len(new_ids) == 1 and orphan_id not in new_ids
        due = await store.outbox.claim_due(5, lease=timedelta(seconds=30))
        assert {d.id for d in due} == {r.id for r in records[2:]}
        assert all(Payload.model_validate_json(d.body) == real for d in due)

        # superseded once: the call is finished like any other, a second payload is a no-op
        await store.call_finished(make_payload(call_id=real.call_id, status="failed"))
        assert await store.get_payload(real.call_id) == real
        assert len(await store.outbox.of_call(real.call_id)) == 4
        assert await store.sweep_orphans(stale_after=timedelta(seconds=0)) == []


def result(due: DueDelivery, status: VerdictStatus, clock: FakeClock) -> DeliveryResult:
    attempt = Attempt(clock(), 5, 200 if status == DELIVERED else 503, None)
    return DeliveryResult(due, attempt, Verdict(status, clock() + timedelta(seconds=5)))


async def test_claims_lapse_so_a_dead_deliverers_work_is_retried(
    store_url: str, make_payload: MakePayload, clock: FakeClock
) -> None:
    async with await CallStore.open(
        store_url, endpoints=[endpoint("https://a.example/hook")], clock=clock
    ) as store:
        for _ in range(3):
            await store.call_finished(make_payload())
        lease = timedelta(seconds=30)
        first = await store.outbox.claim_due(2, lease=lease)
        second = await store.outbox.claim_due(5, lease=lease)
        assert len(first) == 2 and len(second) == 1
        assert not {d.id for d in first} & {d.id for d in second}
        assert await store.outbox.claim_due(5, lease=lease) == []
        clock.advance(31)
        again = await store.outbox.claim_due(5, lease=lease)
        assert sorted(d.webhook_id for d in again) == sorted(d.webhook_id for d in first + second)
        assert Payload.model_validate_json(again[0].body).call_id == again[0].call_id


async def test_misuse_and_unknown_ids(store_url: str, make_payload: MakePayload) -> None:
    async with await CallStore.open(store_url) as store:
        payload = make_payload()
        with pytest.raises(UnknownCallError, match=payload.call_id):
            await store.step_completed(payload.call_id, "patient", payload)
        with pytest.raises(UnknownDeliveryError, match="no delivery 404"):
            await store.outbox.replay(404)
        assert await store.get_payload("call_unknown") is None
        await store.call_finished(payload)  # no endpoints: stored, nothing queued
        assert await store.get_payload(payload.call_id) == payload
        assert await count(store._engine, calls) == 1 and await store.outbox.recent() == []


async def test_an_unreachable_database_is_a_retryable_error_without_the_password() -> None:
    url = "postgresql://intake:hunter2@127.0.0.1:9/intake"
    with pytest.raises(StoreUnavailableError) as caught:
        await CallStore.open(url)
    assert caught.value.retryable and "hunter2" not in str(caught.value)


@pytest.mark.postgres
async def test_a_database_that_is_gone_is_a_retryable_error(
    postgres_database: str, make_payload: MakePayload
) -> None:
    gone = make_url(postgres_database).set(database=f"{make_url(postgres_database).database}_gone")
    store = CallStore.create(gone.render_as_string(hide_password=False))
    with pytest.raises(StoreUnavailableError) as caught:  # asyncpg: "database ... does not exist"
        await store.call_finished(make_payload())
    assert caught.value.retryable
    await store.close()
