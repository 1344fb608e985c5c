"""Calls while the database is down: answered and run, the payload kept in the spool, and
stored with its outbox row once the database is back. Real calls through the job harness
(fake_job_context, the real AgentSession), the real CallStore as the recorder, the real
spool in a temporary directory."""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import asyncpg
import pytest
import structlog
from livekit import rtc
from sqlalchemy.engine import make_url

from flows.engine.payload import Payload
from service.catch_up import CatchUp, caught_up
from service.settings import EndpointSettings, Settings
from service.store import CallStore, StoreUnavailableError
from service.store.spool import Spool, SpoolEntry, SpoolImport, import_spool
from service.worker import call_store
from tests.service.test_job import Harness, result, running_job, settings

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
HOOK = EndpointSettings.model_validate({"url": "https://hooks.example/intake", "secrets": [SECRET]})
UNREACHABLE = "postgresql://intake@127.0.0.1:9/intake"  # nothing listens there


class NeverDials:
    async def dial(self, request: object) -> None:
        raise AssertionError("an inbound call dials no one")


async def inbound_call(
    store: CallStore, spool: Spool, *, midway: Callable[[], object] | None = None
) -> Payload:
    """A patient-intake call: the name, the birth date (its step completes), then the
    caller hangs up. ``midway`` runs after the name, before the step completes."""
    harness = Harness(rtc.Room(), recorder=store, spool=spool)
    ports = harness.ports(settings(), lambda _ctx: NeverDials())
    async with running_job(harness, ports) as task:
        live = await harness.caller_joins()
        await live.asked("patient.full_name")
        await live.say("jane doe")
        await live.asked("patient.date_of_birth")
        if midway is not None:
            done = midway()
            if asyncio.iscoroutine(done):
                await done
        await live.say("march fifth nineteen eighty")
        await live.asked("patient.date_of_birth")
        await live.say("yes")
        await live.asked("contact.phone")
        live.call.hangup()
        payload = await result(task)
    assert payload is not None and payload.results["patient"]["full_name"] == "Jane Doe"
    return payload


async def delivered(store: CallStore, payload: Payload) -> None:
    """Stored, and queued for the endpoint: what 'delivered to the store' means."""
    assert await store.get_payload(payload.call_id) == payload
    assert len(await store.outbox.of_call(payload.call_id)) == 1


async def test_sqlite_read_only_the_payload_is_spooled_then_delivered(tmp_path: Path) -> None:
    path = tmp_path / "intake.db"
    async with await CallStore.open(f"sqlite:///{path}"):
        pass  # migrated while writable
    # Tests run as root, for whom chmod forbids nothing: SQLite's own read-only mode.
    read_only = CallStore.create(f"sqlite:///file:{path}?mode=ro&uri=true", endpoints=[HOOK])
    spool = Spool(tmp_path / "spool")
    with structlog.testing.capture_logs() as logs:
        payload = await inbound_call(read_only, spool)
    await read_only.close()
    events = [entry["event"] for entry in logs]
    assert "store.write_failed" in events and "payload.left_in_spool" in events
    assert "Jane" not in repr(logs)  # caller data never in logs
    assert spool.read().entries[0].payload == payload

    async with await CallStore.open(f"sqlite:///{path}", endpoints=[HOOK]) as store:
        assert await store.get_payload(payload.call_id) is None  # nothing got through
        assert await import_spool(spool, store) == SpoolImport(imported=1)
        await delivered(store, payload)
    assert spool.read().entries == []


@pytest.fixture
async def own_postgres_database() -> AsyncIterator[tuple[str, str]]:
    """A database only this test uses (it gets dropped mid-call): (server URL, its URL)."""
    server = os.environ.get("INTAKE_TEST_POSTGRES_URL")
    if not server:
        pytest.skip("INTAKE_TEST_POSTGRES_URL is not set (CI sets it; .ci/run)")
    name = f"intake_dropped_{os.getpid()}_{secrets.token_hex(4)}"
    await execute(server, f'CREATE DATABASE "{name}"')
    try:
        yield server, make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        await execute(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def execute(url: str, statement: str) -> object:
    connection = await asyncpg.connect(url)
    try:
        return await connection.fetchval(statement)
    finally:
        await connection.close()


@pytest.mark.postgres
async def test_postgres_dropped_mid_call_the_payload_is_spooled_then_delivered(
    own_postgres_database: tuple[str, str], tmp_path: Path
) -> None:
    server, url = own_postgres_database
    name = make_url(url).database
    async with await CallStore.open(url):
        pass
    store = CallStore.create(url, endpoints=[HOOK])
    spool = Spool(tmp_path / "spool")

    async def drop() -> None:
        # the call is live in the store (call_started is written in the background, so
        # give it a moment); then the database disappears under it
        for _ in range(100):
            if await execute(url, "SELECT state FROM calls") == "live":
                break
            await asyncio.sleep(0.05)
        assert await execute(url, "SELECT state FROM calls") == "live"
        await execute(server, f'DROP DATABASE "{name}" WITH (FORCE)')

    payload = await inbound_call(store, spool, midway=drop)
    await store.close()
    assert [entry.payload for entry in spool.read().entries] == [payload]

    await execute(server, f'CREATE DATABASE "{name}"')
    async with await CallStore.open(url, endpoints=[HOOK]) as back:  # migrated afresh
        assert await import_spool(spool, back) == SpoolImport(imported=1)
        await delivered(back, payload)
    assert spool.read().entries == []


@pytest.mark.parametrize("database", ["postgres-unreachable", "sqlite-no-directory-yet"])
async def test_a_store_created_while_the_database_is_down_runs_calls_and_catches_up(
    database: str, tmp_path: Path
) -> None:
    if database == "postgres-unreachable":
        url = UNREACHABLE
    else:
        url = f"sqlite:///{tmp_path / 'not-yet' / 'intake.db'}"
    store = CallStore.create(url, endpoints=[HOOK])  # no I/O: does not fail
    with pytest.raises(StoreUnavailableError):
        await store.migrate()
    spool = Spool(tmp_path / "spool")
    started = time.monotonic()
    payload = await inbound_call(store, spool)
    assert time.monotonic() - started < 8  # the job did not wait out the store
    assert [entry.payload for entry in spool.read().entries] == [payload]
    if database == "sqlite-no-directory-yet":  # the database comes back
        (tmp_path / "not-yet").mkdir()
        assert await CatchUp(store, spool).once() == SpoolImport(imported=1)
        await delivered(store, payload)
    await store.close()


async def test_the_worker_catches_up_when_the_database_comes_back(
    tmp_path: Path, make_payload: Callable[..., Payload]
) -> None:
    """What the worker's main process runs: migrate and import now, then every interval."""
    directory = tmp_path / "db"
    store = CallStore.create(f"sqlite:///{directory / 'intake.db'}", endpoints=[HOOK])
    spool = Spool(tmp_path / "spool")
    payload = make_payload()
    spool.write(SpoolEntry(payload=payload))
    with structlog.testing.capture_logs() as logs:
        async with caught_up(store, spool, interval=0.05):  # the database is down at start
            assert "store.migrate_failed" in [entry["event"] for entry in logs]
            directory.mkdir()  # ... and comes back
            deadline = time.monotonic() + 10
            while spool.read().entries:
                assert time.monotonic() < deadline, "the spool was not imported"
                await asyncio.sleep(0.05)
    async with await CallStore.open(f"sqlite:///{directory / 'intake.db'}") as again:
        assert await again.get_payload(payload.call_id) == payload
    assert {"store.migrated", "spool.imported"} <= {entry["event"] for entry in logs}


async def test_the_worker_imports_once_more_as_it_stops(
    tmp_path: Path, make_payload: Callable[..., Payload]
) -> None:
    url = f"sqlite:///{tmp_path / 'intake.db'}"
    spool = Spool(tmp_path / "spool")
    async with caught_up(CallStore.create(url), spool, interval=3600):
        late = make_payload()  # a call that ended during the drain
        spool.write(SpoolEntry(payload=late))
    assert spool.read().entries == []
    async with await CallStore.open(url) as store:
        assert await store.get_payload(late.call_id) == late


class SlowToStart:
    """A CallRecorder whose first write hangs until released, like a database that
    accepts connections but does not answer."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.finished: list[Payload] = []

    async def call_started(self, snapshot: Payload, *, worker_id: str) -> None:
        await self.release.wait()

    async def step_completed(self, call_id: str, step_id: str, snapshot: Payload) -> None:
        pass

    async def heartbeat(self, call_id: str) -> None:
        pass

    async def call_answered(self, call_id: str) -> None:
        pass

    async def do_not_call(self, number: str, *, call_id: str) -> None:
        pass

    async def call_finished(
        self, payload: Payload, *, sip_status: int | None = None, retryable: bool | None = None
    ) -> None:
        self.finished.append(payload)


async def test_the_greeting_does_not_wait_for_the_store(tmp_path: Path) -> None:
    recorder = SlowToStart()
    harness = Harness(rtc.Room(), recorder=recorder, spool=Spool(tmp_path))
    async with running_job(harness, harness.ports(settings(), lambda _ctx: NeverDials())) as task:
        live = await harness.caller_joins()
        await live.asked("patient.full_name")  # while call_started still hangs
        recorder.release.set()
        live.call.hangup()
        payload = await result(task)
    assert recorder.finished == [payload] and Spool(tmp_path).read().entries == []


def test_a_job_process_gets_its_store_and_spool_without_the_database(tmp_path: Path) -> None:
    """What prewarm does once per job process: no connection, so nothing to fail."""
    settings = Settings.model_validate({"data_dir": tmp_path, "database": {"url": UNREACHABLE}})
    store, spool = call_store(settings)
    assert spool.directory == tmp_path / "spool"
    assert store.outbox is not None
