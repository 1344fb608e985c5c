"""``GET /v1/campaigns/{id}/results``: JSON Lines and CSV, on both databases, and memory that
stays flat however many calls the campaign has."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import tracemalloc
from collections.abc import Callable, MutableMapping
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import insert, select, update

from service.store.schema import ENDED, call_requests, calls

if TYPE_CHECKING:
    from .conftest import Api, ApiFactory

MakePayload = Callable[..., dict[str, Any]]


async def campaign_with(api: Api, flow: str, numbers: list[str]) -> tuple[str, list[str]]:
    body = {"name": "r", "flow": flow, "contacts": [{"to": number} for number in numbers]}
    response = await api.post("/v1/campaigns", json=body)
    assert response.status_code == 201, response.text
    campaign_id = response.json()["id"]
    async with api.store.engine.connect() as conn:
        rows = await conn.execute(
            select(call_requests.c.id)
            .where(call_requests.c.campaign_id == campaign_id)
            .order_by(call_requests.c.id)
        )
        return campaign_id, list(rows.scalars())


async def test_results_as_json_lines_and_csv(api: Api, payload: MakePayload) -> None:
    numbers = ["+14155550101", "+14155550102", "bad number"]
    campaign_id, (ended, queued, blocked) = await campaign_with(api, "patient_intake", numbers)
    final = payload("patient_intake", status="incomplete", ended_reason="caller_hangup")
    final["results"] = {
        "patient": {"full_name": "Zoë Quill", "date_of_birth": "1980-03-05"},
        "visit": {"reason": 'a "sore" knee, left', "new_patient": False},
        "medications": {"medications": [{"name": "ibuprofen", "dosage": None}]},
        "allergies": {"allergies": []},
    }
    await api.end_call(ended, final)

    lines = (await api.get(f"/v1/campaigns/{campaign_id}/results")).text.splitlines()
    response = await api.get(f"/v1/campaigns/{campaign_id}/results")
    assert response.headers["content-type"].startswith("application/jsonl")
    rows = [json.loads(line) for line in lines]
    assert rows == [
        {
            "call_id": ended,
            "to": "+14155550101",
            "status": "ended",
            "payload": final | {"call_id": ended},
        },
        {"call_id": queued, "to": "+14155550102", "status": "queued", "payload": None},
        {"call_id": blocked, "to": "bad number", "status": "blocked", "payload": None},
    ]

    as_csv = await api.get(
        f"/v1/campaigns/{campaign_id}/results", headers={"Accept": "text/csv, */*;q=0.1"}
    )
    assert as_csv.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert list(table[0])[:5] == ["call_id", "to", "status", "outcome", "ended_reason"]
    assert "patient.full_name" in table[0] and "insurance.member_id" in table[0]
    first = table[0]
    assert (first["call_id"], first["status"], first["outcome"], first["ended_reason"]) == (
        ended,
        "ended",
        "incomplete",
        "caller_hangup",
    )
    assert first["patient.full_name"] == "Zoë Quill"
    assert first["visit.reason"] == 'a "sore" knee, left'
    assert first["visit.new_patient"] == "false"
    assert json.loads(first["medications.medications"]) == [{"name": "ibuprofen", "dosage": None}]
    assert first["allergies.allergies"] == "[]"
    assert first["insurance.member_id"] == ""  # not collected
    assert [row["status"] for row in table[1:]] == ["queued", "blocked"]
    assert table[2]["patient.full_name"] == ""


async def test_results_of_an_unknown_campaign(api: Api) -> None:
    response = await api.get("/v1/campaigns/cmp_nope/results")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert (await api.client.get("/v1/campaigns/cmp_nope/results")).status_code == 401


async def peak_while_streaming(api: Api, campaign_id: str, accept: str) -> tuple[int, int]:
    """Peak memory (tracemalloc) while the app streams the results, and the rows it sent.
    Driven through ASGI directly: httpx's transport would keep the whole body itself."""
    path = f"/v1/campaigns/{campaign_id}/results"
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"intake"),
            (b"authorization", f"Bearer {api.key}".encode()),
            (b"accept", accept.encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("intake", 80),
    }
    rows, status, requested, finished = 0, 0, False, asyncio.Event()

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await finished.wait()  # the client stays until the response is complete
        return {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        nonlocal rows, status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            rows += message.get("body", b"").count(b"\n")  # counted, then dropped
            if not message.get("more_body", False):
                finished.set()

    tracemalloc.start()
    try:
        await api.app(scope, receive, send)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert status == 200
    return peak, rows


@pytest.mark.slow
async def test_streaming_memory_stays_flat(api_factory: ApiFactory, payload: MakePayload) -> None:
    """10,000 calls (each with its payload) stream within the memory that 2,000 take, give
    or take a batch: the rows are never all held at once."""
    async with api_factory(max_contacts=10_000, calls_per_minute=20_000) as api:
        text = json.dumps(payload("patient_intake"), separators=(",", ":"))
        peaks = {}
        for size in (2_000, 10_000):
            numbers = [f"+1415{n:07d}" for n in range(5_550_000, 5_550_000 + size)]
            campaign_id, call_ids = await campaign_with(api, "patient_intake", numbers)
            async with api.store.engine.begin() as conn:  # every call ended, with a payload
                await conn.execute(
                    insert(calls),
                    [
                        {
                            "call_id": call_id,
                            "flow": "patient_intake",
                            "state": "finished",
                            "started_at": api.clock(),
                            "heartbeat_at": api.clock(),
                            "snapshot": "{}",
                            "payload": text,
                        }
                        for call_id in call_ids
                    ],
                )
                await conn.execute(
                    update(call_requests)
                    .where(call_requests.c.campaign_id == campaign_id)
                    .values(status=ENDED, outcome="completed")
                )
            for accept in ("application/jsonl", "text/csv"):
                peak, rows = await peak_while_streaming(api, campaign_id, accept)
                assert rows == size + (accept == "text/csv")  # the CSV header
                peaks[size, accept] = peak
        for accept in ("application/jsonl", "text/csv"):
            small, large = peaks[2_000, accept], peaks[10_000, accept]
            assert large < small * 1.5, (accept, small, large)
            assert large < 10_000 * len(text) / 2  # not all the rows at once
