"""The do-not-call list on both databases: adding twice, removing, cancelling queued calls."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import insert, select

from service.store import CallStore
from service.store.schema import CANCELLED, ENDED, QUEUED, call_requests

NUMBER = "+14155550123"


async def queue_call(store: CallStore, call_id: str, status: str, to: str = NUMBER) -> None:
    now = datetime.now(UTC)
    async with store._engine.begin() as conn:
        await conn.execute(
            insert(call_requests).values(
                id=call_id,
                flow="customer_feedback",
                to_number=to,
                status=status,
                metadata="{}",
                created_at=now,
                updated_at=now,
                next_attempt_at=now if status == QUEUED else None,
            )
        )


async def statuses(store: CallStore) -> dict[str, str]:
    async with store._engine.connect() as conn:
        rows = await conn.execute(select(call_requests.c.id, call_requests.c.status))
    return {row.id: row.status for row in rows}


async def test_a_caller_who_asks_is_listed_and_their_queued_calls_cancelled(store_url: str) -> None:
    async with await CallStore.open(store_url) as store:
        await queue_call(store, "call_queued1", QUEUED)
        await queue_call(store, "call_ended01", ENDED)
        await queue_call(store, "call_other01", QUEUED, to="+14155550199")
        await store.do_not_call(NUMBER, call_id="call_ended01")
        await store.do_not_call(NUMBER, call_id="call_ended01")  # said twice: no error
        assert await store.dnc.contains(NUMBER)
        assert await statuses(store) == {
            "call_queued1": CANCELLED,
            "call_ended01": ENDED,
            "call_other01": QUEUED,
        }


async def test_the_api_adds_and_removes_without_touching_queued_calls(store_url: str) -> None:
    async with await CallStore.open(store_url) as store:
        await queue_call(store, "call_queued1", QUEUED)
        assert await store.dnc.add(NUMBER, source="api") == 0
        assert (await statuses(store))["call_queued1"] == QUEUED  # blocked at dial time instead
        assert await store.dnc.remove(NUMBER)
        assert not await store.dnc.remove(NUMBER)
        assert not await store.dnc.contains(NUMBER)
