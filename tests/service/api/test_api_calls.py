"""``/v1/calls`` on both databases: creating (and every way it is refused), reading with
attempts and payload, listing page by page, cancelling, Idempotency-Key."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from service.store.schema import call_requests

if TYPE_CHECKING:
    from .conftest import Api, ApiFactory

MakePayload = Callable[..., dict[str, Any]]


def error(response: Any) -> tuple[int, str]:
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    assert "\n" not in body["error"]["message"]
    return response.status_code, body["error"]["code"]


async def test_a_call_is_queued_and_read_back(api: Api) -> None:
    response = await api.post(
        "/v1/calls",
        json={
            "to": "(415) 555-0123",  # national form, the default region's
            "flow": "customer_feedback",
            "from": "+18005550100",
            "metadata": {"ticket": "T-1", "nested": {"n": 1}},
        },
    )
    assert response.status_code == 202
    call = response.json()
    assert call["id"].startswith("call_") and len(call["id"]) == 31
    assert (call["to"], call["from"], call["flow"]) == (
        "+14155550123",
        "+18005550100",
        "customer_feedback",
    )
    assert (call["status"], call["campaign_id"], call["attempts"], call["payload"]) == (
        "queued",
        None,
        [],
        None,
    )
    assert call["metadata"] == {"ticket": "T-1", "nested": {"n": 1}}
    assert datetime.fromisoformat(call["next_attempt_at"]) == api.clock()
    assert datetime.fromisoformat(call["created_at"]) == api.clock()
    fetched = await api.get(f"/v1/calls/{call['id']}")
    assert fetched.status_code == 200 and fetched.json() == call


async def test_not_before_and_a_time_zone_of_ones_own(api: Api) -> None:
    later = (api.clock() + timedelta(hours=3)).isoformat()
    call = await api.call(not_before=later, timezone="Europe/Berlin")
    assert call["not_before"] == call["next_attempt_at"]
    assert datetime.fromisoformat(call["next_attempt_at"]) == datetime.fromisoformat(later)


async def test_a_number_with_no_time_zone_is_blocked(api: Api) -> None:
    call = await api.call(to="+80012345678")  # international freephone: valid, nowhere
    assert (call["status"], call["next_attempt_at"]) == ("blocked", None)
    assert "time zone" in call["reason"]


async def test_every_refusal_has_its_code(api: Api) -> None:
    async def refused(body: dict[str, Any], **kwargs: Any) -> tuple[int, str]:
        return error(await api.post("/v1/calls", json=body, **kwargs))

    base = {"to": "+14155550123", "flow": "customer_feedback"}
    assert await refused(base | {"to": "12"}) == (422, "invalid_phone")
    assert await refused(base | {"to": "+1 415 555 01239999"}) == (422, "invalid_phone")
    assert await refused(base | {"from": "nope"}) == (422, "invalid_phone")
    assert await refused(base | {"flow": "no_such_flow"}) == (422, "unknown_flow")
    assert await refused(base | {"timezone": "Mars/Olympus"}) == (422, "invalid_request")
    assert await refused(base | {"not_before": "2026-01-01T10:00:00"}) == (422, "invalid_request")
    assert await refused(base | {"simulate": {"answers": {}}}) == (422, "invalid_request")
    assert await refused(base | {"unexpected": 1}) == (422, "invalid_request")
    assert await refused({"flow": "customer_feedback"}) == (422, "invalid_request")
    assert await refused(base | {"metadata": []}) == (422, "invalid_request")
    bad_json = await api.post(
        "/v1/calls", content=b'{"to": ', headers={"content-type": "application/json"}
    )
    assert error(bad_json) == (422, "invalid_request")
    assert "JSON" in bad_json.json()["error"]["message"]
    assert error(await api.post("/v1/calls", content=b"[1, 2]")) == (422, "invalid_request")
    nobody = await api.client.post("/v1/calls", json=base)
    assert error(nobody) == (401, "unauthorized")
    assert nobody.headers["www-authenticate"] == "Bearer"
    wrong = await api.client.post("/v1/calls", json=base, headers={"Authorization": "Bearer ik_x"})
    assert error(wrong) == (401, "unauthorized")
    basic = await api.client.post("/v1/calls", json=base, headers={"Authorization": "Basic eDp5"})
    assert error(basic) == (401, "unauthorized")
    async with api.store.engine.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(call_requests)) == 0


async def test_simulate_is_taken_by_a_simulating_server(api_factory: ApiFactory) -> None:
    async with api_factory(simulate=True) as api:
        call = await api.call(simulate={"answers": {"welcome": "sure"}})
        assert call["status"] == "queued"
        response = await api.post(
            "/v1/calls",
            json={"to": "+14155550123", "flow": "customer_feedback", "simulate": [1]},
        )
        assert error(response) == (422, "invalid_request")


async def test_a_number_on_the_do_not_call_list_is_refused(api: Api) -> None:
    assert (await api.client.put("/v1/dnc/4155550123", headers=api.auth)).status_code == 204
    response = await api.post("/v1/calls", json={"to": "+14155550123", "flow": "customer_feedback"})
    assert error(response) == (409, "do_not_call")
    other = await api.call(to="+14155550124")  # a batch holds refused and accepted calls alike
    assert other["status"] == "queued"


async def test_concurrent_calls_each_get_their_own_answer(api: Api) -> None:
    await api.client.put("/v1/dnc/+14155550100", headers=api.auth)
    numbers = [f"+1415555{n:04d}" for n in range(101, 141)]
    responses = await asyncio.gather(
        *(
            api.post("/v1/calls", json={"to": number, "flow": "customer_feedback"})
            for number in [*numbers, "+14155550100"]
        )
    )
    assert [r.status_code for r in responses] == [202] * len(numbers) + [409]
    assert sorted(r.json()["to"] for r in responses[:-1]) == numbers
    assert len({r.json()["id"] for r in responses[:-1]}) == len(numbers)


async def test_a_call_with_its_attempts_and_payload(api: Api, payload: MakePayload) -> None:
    call = await api.call()
    at = datetime(2026, 3, 24, 15, 0, tzinfo=UTC)
    final = payload("customer_feedback", status="completed")
    attempts = [
        {"at": at, "outcome": "busy", "sip_status": 486, "retryable": True},
        {"at": at + timedelta(minutes=10), "outcome": "completed"},
    ]
    await api.end_call(call["id"], final, attempts)
    ended = (await api.get(f"/v1/calls/{call['id']}")).json()
    assert ended["status"] == "ended"
    assert ended["payload"] == final | {"call_id": call["id"]}
    assert ended["attempts"] == [
        {"at": "2026-03-24T15:00:00Z", "outcome": "busy", "sip_status": 486, "retryable": True},
        {
            "at": "2026-03-24T15:10:00Z",
            "outcome": "completed",
            "sip_status": None,
            "retryable": None,
        },
    ]


async def test_listing_pages_newest_first_with_filters(api: Api) -> None:
    made = [(await api.call(to=f"+1415555{n:04d}"))["id"] for n in range(200, 207)]
    other = await api.call(flow="lead_qualification")
    seen: list[str] = []
    cursor = None
    while True:
        query = {"limit": 3, "flow": "customer_feedback"} | ({"cursor": cursor} if cursor else {})
        page = (await api.get("/v1/calls", params=query)).json()
        seen += [item["id"] for item in page["items"]]
        assert all(item["flow"] == "customer_feedback" for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == made[::-1]
    queued = (await api.get("/v1/calls", params={"status": "queued", "limit": 200})).json()
    assert queued["items"][0]["id"] == other["id"]
    assert (await api.get("/v1/calls", params={"status": "ended"})).json() == {
        "items": [],
        "next_cursor": None,
    }
    for bad in ({"limit": 0}, {"limit": 201}, {"status": "lost"}, {"cursor": "x"}):
        assert error(await api.get("/v1/calls", params=bad)) == (422, "invalid_request")


async def test_only_a_queued_call_can_be_cancelled(api: Api, payload: MakePayload) -> None:
    call = await api.call()
    cancelled = await api.post(f"/v1/calls/{call['id']}/cancel")
    assert cancelled.status_code == 200
    assert (cancelled.json()["status"], cancelled.json()["next_attempt_at"]) == ("cancelled", None)
    assert error(await api.post(f"/v1/calls/{call['id']}/cancel")) == (409, "conflict")
    ended = await api.call(to="+14155550124")
    await api.end_call(ended["id"], payload("customer_feedback"))
    assert error(await api.post(f"/v1/calls/{ended['id']}/cancel")) == (409, "conflict")
    dialing = await api.call(to="+14155550125")
    await api.set_status(dialing["id"], "dialing")
    assert error(await api.post(f"/v1/calls/{dialing['id']}/cancel")) == (409, "conflict")
    unknown = "call_01J00000000000000000000000"
    assert error(await api.post(f"/v1/calls/{unknown}/cancel")) == (404, "not_found")
    assert error(await api.get(f"/v1/calls/{unknown}")) == (404, "not_found")


async def test_idempotency_key_replays_and_conflicts(api: Api) -> None:
    body = {"to": "+14155550123", "flow": "customer_feedback", "metadata": {"a": 1, "b": 2}}
    first = await api.post("/v1/calls", json=body, headers={"Idempotency-Key": "order-1"})
    reordered = {"metadata": {"b": 2, "a": 1}, "flow": "customer_feedback", "to": "+14155550123"}
    again = await api.post("/v1/calls", json=reordered, headers={"Idempotency-Key": "order-1"})
    assert (first.status_code, again.status_code) == (202, 202)
    assert again.json() == first.json()
    changed = await api.post(
        "/v1/calls", json=body | {"to": "+14155550124"}, headers={"Idempotency-Key": "order-1"}
    )
    assert error(changed) == (409, "conflict")
    another_key = await api.post("/v1/calls", json=body, headers={"Idempotency-Key": "order-2"})
    assert another_key.json()["id"] != first.json()["id"]
    # another API key may use the same Idempotency-Key for a call of its own
    second_key = await api.new_key("second")
    theirs = await api.client.post(
        "/v1/calls",
        json=body,
        headers={"Authorization": f"Bearer {second_key}", "Idempotency-Key": "order-1"},
    )
    assert theirs.status_code == 202 and theirs.json()["id"] != first.json()["id"]
    too_long = await api.post("/v1/calls", json=body, headers={"Idempotency-Key": "k" * 201})
    assert error(too_long) == (422, "invalid_request")


async def test_concurrent_requests_with_one_idempotency_key_make_one_call(api: Api) -> None:
    body = {"to": "+14155550123", "flow": "customer_feedback"}
    responses = await asyncio.gather(
        *(api.post("/v1/calls", json=body, headers={"Idempotency-Key": "same"}) for _ in range(8))
    )
    assert {r.status_code for r in responses} == {202}
    assert len({r.json()["id"] for r in responses}) == 1
    async with api.store.engine.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(call_requests)) == 1


async def test_a_revoked_key_is_refused(api: Api) -> None:
    from service.store.api_keys import ApiKeys

    key = await api.new_key("leaving")
    assert (
        await api.client.get("/v1/calls", headers={"Authorization": f"Bearer {key}"})
    ).status_code == 200
    await ApiKeys(api.store.engine, api.clock).revoke("leaving")
    api.app.state.context.keys._cache.clear()  # as if the few seconds of the cache had passed
    response = await api.client.get("/v1/calls", headers={"Authorization": f"Bearer {key}"})
    assert error(response) == (401, "unauthorized")
