"""The do-not-call list on both databases: adding twice, removing, cancelling queued calls."""

from __future__ import annotations

from queued_calls import queue_call, statuses

from service.store import CallStore
from service.store.schema import CANCELLED, ENDED, QUEUED

NUMBER = "+14155550123"


async def test_a_caller_who_asks_is_listed_and_their_queued_calls_cancelled(store_url: str) -> None:
    async with await CallStore.open(store_url) as store:
        await queue_call(store, "call_queued1", QUEUED, NUMBER)
        await queue_call(store, "call_ended01", ENDED, NUMBER)
        await queue_call(store, "call_other01", QUEUED, "+14155550199")
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
        await queue_call(store, "call_queued1", QUEUED, NUMBER)
        assert await store.dnc.add(NUMBER, source="api") == 0
        assert (await statuses(store))["call_queued1"] == QUEUED  # blocked at dial time instead
        assert await store.dnc.remove(NUMBER)
        assert not await store.dnc.remove(NUMBER)
        assert not await store.dnc.contains(NUMBER)
