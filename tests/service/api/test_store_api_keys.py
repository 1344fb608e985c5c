"""API keys and the quota in the store, on both databases: hashed keys, a verify cache that
sees a revocation within its few seconds and asks the database once per key at a time,
and a quota shared by the batched writer and single transactions."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select

from service.store import CallStore
from service.store.api_keys import ApiKeys, Caller
from service.store.engine import HEAD_REVISION
from service.store.errors import ConflictError, NotFoundError, QuotaExceededError
from service.store.requests import CallRequests, Idempotency, NewCall
from service.store.schema import api_key_usage, api_keys

if TYPE_CHECKING:
    from conftest import FakeClock


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_keys_are_stored_hashed_listed_and_revoked(store_url: str, clock: FakeClock) -> None:
    async with await CallStore.open(store_url, clock=clock) as store:
        keys = ApiKeys(store.engine, clock)
        issued = await keys.create("crm", calls_per_minute=50)
        assert issued.secret.startswith("ik_") and len(issued.secret) > 40
        assert issued.record.prefix == issued.secret[:10]
        async with store.engine.connect() as conn:
            row = (await conn.execute(select(api_keys))).one()
        assert row.key_hash == hashlib.sha256(issued.secret.encode()).hexdigest()
        assert issued.secret not in str(tuple(row))
        with pytest.raises(ConflictError):
            await keys.create("crm")
        await keys.create("other")
        assert [key.name for key in await keys.list_keys()] == ["crm", "other"]
        revoked = await keys.revoke("crm")
        assert revoked.revoked_at == clock()
        assert (await keys.revoke("crm")).revoked_at == clock()  # again: unchanged
        with pytest.raises(NotFoundError):
            await keys.revoke("nobody")


async def test_verify_caches_and_sees_a_revocation_in_time(
    store_url: str, clock: FakeClock
) -> None:
    async with await CallStore.open(store_url, clock=clock) as store:
        ticks = Ticks()
        keys = ApiKeys(store.engine, clock, default_quota=7, cache_seconds=2, monotonic=ticks)
        secret = (await keys.create("crm")).secret
        lookups = 0
        lookup = keys._lookup

        async def counted(digest: str) -> Caller | None:
            nonlocal lookups
            lookups += 1
            return await lookup(digest)

        keys._lookup = counted  # type: ignore[method-assign]
        callers = await asyncio.gather(*(keys.verify(secret) for _ in range(20)))
        assert {caller.calls_per_minute for caller in callers if caller} == {7}
        assert lookups == 1  # twenty requests at once: one query
        await ApiKeys(store.engine, clock).revoke("crm")  # another process revokes it
        ticks.now = 1.5
        assert await keys.verify(secret) is not None  # cached for up to two seconds
        ticks.now = 2.5
        assert await keys.verify(secret) is None
        assert await keys.verify("ik_unknown") is None
        assert lookups == 3


async def test_the_quota_holds_across_the_batched_and_the_single_path(
    store_url: str, clock: FakeClock
) -> None:
    clock.now = datetime(2026, 3, 24, 15, 0, 30, tzinfo=UTC)
    async with await CallStore.open(store_url, clock=clock) as store:
        keys = ApiKeys(store.engine, clock)
        caller = await keys.verify((await keys.create("crm", calls_per_minute=4)).secret)
        assert caller is not None
        calls = CallRequests(store.engine, clock)
        call = NewCall(flow="customer_feedback", to="+14155550123")
        outcomes = await asyncio.gather(
            *(calls.create(call, caller) for _ in range(3)),
            calls.create(call, caller, Idempotency("k1", "h1")),
            calls.create(call, caller, Idempotency("k2", "h2")),
            *(calls.create(call, caller) for _ in range(2)),
            return_exceptions=True,
        )
        made = [outcome for outcome in outcomes if not isinstance(outcome, Exception)]
        refused = [outcome for outcome in outcomes if isinstance(outcome, Exception)]
        assert len(made) == 4
        assert all(isinstance(error, QuotaExceededError) for error in refused)
        waits = {error.retry_after for error in refused if isinstance(error, QuotaExceededError)}
        assert waits == {30}
        clock.advance(60)  # a new minute: the old one's row is dropped with the first call
        await calls.create(call, caller)
        async with store.engine.connect() as conn:
            rows = (await conn.execute(select(api_key_usage))).all()
        assert [(row.minute, row.calls) for row in rows] == [
            (datetime(2026, 3, 24, 15, 1, tzinfo=UTC), 1)
        ]
        await calls.close()


def test_the_head_revision_constant_is_the_newest_migration() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", "service.store:migrations")
    assert ScriptDirectory.from_config(config).get_current_head() == HEAD_REVISION
