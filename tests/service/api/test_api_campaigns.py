"""``/v1/campaigns`` on both databases: JSON and CSV uploads (and their edge cases), counts,
pause, resume, cancel, and 10,000 contacts in well under five seconds."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import select

from service.store.schema import call_requests

if TYPE_CHECKING:
    from .conftest import Api

MakePayload = Callable[..., dict[str, Any]]
ZERO = dict.fromkeys(
    (
        "queued",
        "dialing",
        "in_progress",
        "completed",
        "incomplete",
        "transferred",
        "declined",
        "voicemail",
        "no_answer",
        "busy",
        "failed",
        "blocked",
        "cancelled",
    ),
    0,
)


def error(response: Any) -> tuple[int, str]:
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    return response.status_code, body["error"]["code"]


async def calls_of(api: Api, campaign_id: str) -> list[dict[str, Any]]:
    async with api.store.engine.connect() as conn:
        rows = await conn.execute(
            select(call_requests)
            .where(call_requests.c.campaign_id == campaign_id)
            .order_by(call_requests.c.id)
        )
        return [dict(row._mapping) for row in rows]


async def upload(api: Api, csv: bytes, **fields: str) -> Any:
    data = {"name": "spring", "flow": "customer_feedback"} | fields
    return await api.post(
        "/v1/campaigns", data=data, files={"contacts": ("c.csv", csv, "text/csv")}
    )


async def test_a_json_campaign_with_good_and_bad_contacts(api: Api) -> None:
    await api.client.put("/v1/dnc/+14155550199", headers=api.auth)
    contacts = [
        {"to": "+14155550101", "metadata": {"name": "Ann"}},
        {"to": "415 555 0102", "timezone": "America/Chicago"},
        {"to": "not a number", "metadata": {"name": "Bob"}},
        {"to": "+14155550103", "timezone": "Nowhere/Else"},
        {"to": "+14155550199"},
        {"to": "+80012345678"},
        {"to": "+14155550104", "timezone": ""},
    ]
    response = await api.post(
        "/v1/campaigns",
        json={
            "name": "spring",
            "flow": "customer_feedback",
            "contacts": contacts,
            "window": {"start": "10:00", "end": "18:30", "days": ["sat", "mon"]},
            "concurrency": 3,
            "calls_per_second": 0.5,
            "retry": {"busy": {"attempts": 2, "after": 300}},
        },
    )
    assert response.status_code == 201, response.text
    campaign = response.json()
    assert campaign["id"].startswith("cmp_")
    assert (campaign["name"], campaign["flow"], campaign["status"]) == (
        "spring",
        "customer_feedback",
        "running",
    )
    assert campaign["counts"] == ZERO | {"queued": 3, "blocked": 4}
    assert campaign["window"] == {"start": "10:00", "end": "18:30", "days": ["mon", "sat"]}
    assert campaign["retry"]["busy"] == {"attempts": 2, "after": 300}
    assert campaign["retry"]["no_answer"] == {"attempts": 3, "after": 7200}  # the default
    assert (campaign["concurrency"], campaign["calls_per_second"]) == (3, 0.5)
    rows = await calls_of(api, campaign["id"])
    assert [(r["to_number"], r["status"], r["reason"]) for r in rows] == [
        ("+14155550101", "queued", None),
        ("+14155550102", "queued", None),
        ("not a number", "blocked", "not a valid phone number"),
        ("+14155550103", "blocked", "not a known IANA time zone"),
        ("+14155550199", "blocked", "the number is on the do-not-call list"),
        ("+80012345678", "blocked", "no time zone could be found for the number"),
        ("+14155550104", "queued", None),
    ]
    assert [r["timezone"] for r in rows][:2] == [None, "America/Chicago"]
    assert rows[2]["metadata"] == '{"name": "Bob"}'  # blocked rows keep their metadata
    assert (await api.get(f"/v1/campaigns/{campaign['id']}")).json() == campaign


async def test_invalid_campaigns_are_refused_whole(api: Api) -> None:
    base = {"name": "x", "flow": "customer_feedback", "contacts": [{"to": "+14155550101"}]}

    async def refused(**changes: Any) -> tuple[int, str]:
        return error(await api.post("/v1/campaigns", json=base | changes))

    assert await refused(flow="nope") == (422, "unknown_flow")
    assert await refused(window={"start": "07:00", "end": "12:00"}) == (422, "invalid_request")
    assert await refused(window={"start": "09:00", "end": "21:30"}) == (422, "invalid_request")
    assert await refused(window={"start": "9am"}) == (422, "invalid_request")
    assert await refused(window={"days": []}) == (422, "invalid_request")
    assert await refused(retry={"busy": {"attempts": 0, "after": 600}}) == (422, "invalid_request")
    assert await refused(concurrency=0) == (422, "invalid_request")
    assert await refused(calls_per_second=0) == (422, "invalid_request")
    assert await refused(contacts=[]) == (422, "invalid_request")
    assert await refused(contacts=[{"phone": "+14155550101"}]) == (422, "invalid_request")
    assert await refused(name="") == (422, "invalid_request")
    bad_json = await api.post(
        "/v1/campaigns", content=b"{", headers={"content-type": "application/json"}
    )
    assert error(bad_json) == (422, "invalid_request")
    text = await api.post("/v1/campaigns", content=b"x", headers={"content-type": "text/plain"})
    assert error(text) == (422, "invalid_request")
    assert error(await api.client.post("/v1/campaigns", json=base)) == (401, "unauthorized")


async def test_a_csv_upload_with_bom_crlf_and_odd_rows(api: Api) -> None:
    csv = (
        "\ufeffTo,timezone,name,ticket\r\n"
        "+14155550101,,Ann,T-1\r\n"
        '"415 555 0102",America/Denver,"Bob, Jr.",T-2\r\n'
        "\r\n"
        "12,,Cy,T-3\r\n"
        "+14155550103,,Di,T-4,extra\r\n"
        "+14155550104,,Ed\r\n"
    ).encode()
    response = await upload(api, csv, window='{"start": "09:30", "end": "17:00"}', concurrency="2")
    assert response.status_code == 201, response.text
    campaign = response.json()
    assert campaign["counts"] == ZERO | {"queued": 3, "blocked": 2}
    assert (campaign["window"]["start"], campaign["concurrency"]) == ("09:30", 2)
    rows = await calls_of(api, campaign["id"])
    assert [(r["to_number"], r["status"], r["timezone"]) for r in rows] == [
        ("+14155550101", "queued", None),
        ("+14155550102", "queued", "America/Denver"),
        ("12", "blocked", None),
        ("+14155550103", "blocked", None),
        ("+14155550104", "queued", None),
    ]
    assert rows[1]["metadata"] == '{"name": "Bob, Jr.", "ticket": "T-2"}'
    assert rows[3]["reason"] == "the row has more cells than the header has columns"
    assert rows[4]["metadata"] == '{"name": "Ed", "ticket": ""}'  # missing cells are empty


async def test_uploads_that_are_no_contacts_file(api: Api) -> None:
    assert error(await upload(api, b"phone,name\n+14155550101,Ann\n")) == (422, "invalid_request")
    assert error(await upload(api, "to\n+1415555\xe90101\n".encode("latin-1"))) == (
        422,
        "invalid_request",
    )
    assert error(await upload(api, b"to\n")) == (422, "invalid_request")  # no rows
    assert error(await upload(api, b"to,to\n1,2\n")) == (422, "invalid_request")
    assert error(await upload(api, b'to\n"+14155550101\n')) == (422, "invalid_request")
    assert error(await upload(api, b"to\n+14155550101\n", flow="nope")) == (422, "unknown_flow")
    assert error(await upload(api, b"to\n+14155550101\n", window="{")) == (422, "invalid_request")
    assert error(await upload(api, b"to\n+14155550101\n", colour="red")) == (422, "invalid_request")
    no_file = await api.post("/v1/campaigns", data={"name": "x", "flow": "customer_feedback"})
    assert error(no_file) == (422, "invalid_request")


async def test_counts_follow_the_calls_and_done_comes_last(api: Api, payload: MakePayload) -> None:
    contacts = [{"to": f"+1415555{n:04d}"} for n in range(101, 106)]
    created = await api.post(
        "/v1/campaigns", json={"name": "n", "flow": "customer_feedback", "contacts": contacts}
    )
    campaign_id = created.json()["id"]
    first, second, third, fourth, fifth = (row["id"] for row in await calls_of(api, campaign_id))
    await api.end_call(first, payload("customer_feedback", status="completed"))
    await api.end_call(second, payload("customer_feedback", status="no_answer"))
    await api.set_status(third, "dialing")
    await api.set_status(fourth, "in_progress")
    campaign = (await api.get(f"/v1/campaigns/{campaign_id}")).json()
    assert campaign["counts"] == ZERO | {
        "completed": 1,
        "no_answer": 1,
        "dialing": 1,
        "in_progress": 1,
        "queued": 1,
    }
    assert campaign["status"] == "running"
    await api.post(f"/v1/calls/{fifth}/cancel")
    await api.end_call(third, payload("customer_feedback", status="busy"))
    await api.end_call(fourth, payload("customer_feedback", status="declined"))
    done = (await api.get(f"/v1/campaigns/{campaign_id}")).json()
    assert done["status"] == "done"
    assert done["counts"] == ZERO | {
        "completed": 1,
        "no_answer": 1,
        "busy": 1,
        "declined": 1,
        "cancelled": 1,
    }
    assert error(await api.post(f"/v1/campaigns/{campaign_id}/pause")) == (409, "conflict")
    assert error(await api.post(f"/v1/campaigns/{campaign_id}/cancel")) == (409, "conflict")


async def test_pause_resume_and_cancel(api: Api) -> None:
    contacts = [{"to": f"+1415555{n:04d}"} for n in range(101, 104)]
    created = await api.post(
        "/v1/campaigns", json={"name": "n", "flow": "customer_feedback", "contacts": contacts}
    )
    campaign_id = created.json()["id"]
    dialing = (await calls_of(api, campaign_id))[0]["id"]
    await api.set_status(dialing, "dialing")
    paused = await api.post(f"/v1/campaigns/{campaign_id}/pause")
    assert (paused.status_code, paused.json()["status"]) == (200, "paused")
    assert (await api.post(f"/v1/campaigns/{campaign_id}/pause")).json()["status"] == "paused"
    assert (await api.post(f"/v1/campaigns/{campaign_id}/resume")).json()["status"] == "running"
    cancelled = (await api.post(f"/v1/campaigns/{campaign_id}/cancel")).json()
    assert cancelled["status"] == "cancelled"
    assert cancelled["counts"] == ZERO | {"dialing": 1, "cancelled": 2}  # under way: it goes on
    reasons = {row["reason"] for row in await calls_of(api, campaign_id) if row["id"] != dialing}
    assert reasons == {"the campaign was cancelled"}
    assert (await api.post(f"/v1/campaigns/{campaign_id}/cancel")).status_code == 200
    assert error(await api.post(f"/v1/campaigns/{campaign_id}/resume")) == (409, "conflict")
    assert error(await api.post(f"/v1/campaigns/{campaign_id}/pause")) == (409, "conflict")
    for action in ("pause", "resume", "cancel"):
        missing = await api.post(f"/v1/campaigns/cmp_nope/{action}")
        assert error(missing) == (404, "not_found")
    assert error(await api.get("/v1/campaigns/cmp_nope")) == (404, "not_found")


@pytest.mark.slow
@pytest.mark.parametrize("as_csv", [False, True], ids=["json", "csv"])
async def test_ten_thousand_contacts_in_under_five_seconds(api_factory: Any, as_csv: bool) -> None:
    async with api_factory(max_contacts=10_000, calls_per_minute=10_000) as api:
        numbers = [f"+1{area}555{n:04d}" for area in (212, 415) for n in range(5_000)]
        started = time.perf_counter()
        if as_csv:
            csv = "to,name\n" + "".join(f"{number},n{i}\n" for i, number in enumerate(numbers))
            response = await upload(api, csv.encode())
        else:
            contacts = [{"to": number, "metadata": {"i": i}} for i, number in enumerate(numbers)]
            response = await api.post(
                "/v1/campaigns",
                json={"name": "big", "flow": "customer_feedback", "contacts": contacts},
            )
        elapsed = time.perf_counter() - started
        assert response.status_code == 201, response.text
        assert response.json()["counts"]["queued"] == 10_000
        assert elapsed < 5, f"{elapsed:.1f} s"
        rows = await calls_of(api, response.json()["id"])
        assert [row["to_number"] for row in rows] == numbers  # in the order given
