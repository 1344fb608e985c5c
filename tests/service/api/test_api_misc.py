"""Flows, the do-not-call list, health, readiness, metrics, background work, and the error
shape of what FastAPI itself answers (unknown routes, wrong methods)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import insert
from structlog.testing import capture_logs

from flows.engine.clock import utc_now
from service.api.app import create_app
from service.settings import Settings
from service.store import CallStore
from service.store.schema import call_attempts, deliveries

if TYPE_CHECKING:
    from .conftest import Api

MakePayload = Callable[..., dict[str, Any]]


def error(response: Any) -> tuple[int, str]:
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    return response.status_code, body["error"]["code"]


async def test_flows_are_listed_and_shown(api: Api) -> None:
    listed = (await api.get("/v1/flows")).json()["items"]
    by_id = {flow["id"]: flow for flow in listed}
    assert {"customer_feedback", "patient_intake", "lead_qualification"} <= set(by_id)
    feedback = by_id["customer_feedback"]
    assert feedback["steps"][0] == {
        "id": "customer_identification",
        "fields": ["customer_full_name", "service_order_number"],
    }
    assert len(feedback["version"]) == 8
    spec = (await api.get("/v1/flows/customer_feedback")).json()
    assert spec["id"] == "customer_feedback"
    assert [step["id"] for step in spec["steps"]] == [step["id"] for step in feedback["steps"]]
    assert error(await api.get("/v1/flows/nope")) == (404, "not_found")
    assert error(await api.client.get("/v1/flows")) == (401, "unauthorized")


async def test_the_do_not_call_list(api: Api) -> None:
    assert error(await api.get("/v1/dnc/+14155550123")) == (404, "not_found")
    put = await api.client.put("/v1/dnc/(415)%20555-0123", headers=api.auth)
    assert (put.status_code, put.content) == (204, b"")
    entry = (await api.get("/v1/dnc/4155550123")).json()
    assert (entry["number"], entry["source"]) == ("+14155550123", "api")
    assert datetime.fromisoformat(entry["added_at"]) == api.clock()
    assert (await api.client.put("/v1/dnc/+14155550123", headers=api.auth)).status_code == 204
    deleted = await api.client.delete("/v1/dnc/+14155550123", headers=api.auth)
    assert deleted.status_code == 204
    assert error(await api.get("/v1/dnc/+14155550123")) == (404, "not_found")
    again = await api.client.delete("/v1/dnc/+14155550123", headers=api.auth)
    assert again.status_code == 204
    for method in ("PUT", "GET", "DELETE"):
        bad = await api.client.request(method, "/v1/dnc/12", headers=api.auth)
        assert error(bad) == (422, "invalid_phone")
    assert error(await api.client.put("/v1/dnc/+14155550123")) == (401, "unauthorized")


async def test_the_frameworks_own_answers_have_the_contract_shape(api: Api) -> None:
    assert error(await api.get("/v1/nothing")) == (404, "not_found")
    assert error(await api.client.get("/")) == (404, "not_found")
    wrong = await api.client.delete("/v1/calls", headers=api.auth)
    assert error(wrong) == (405, "method_not_allowed")
    assert "GET" in wrong.headers["allow"]
    schema = (await api.client.get("/openapi.json")).json()
    assert "/v1/campaigns/{campaign_id}/results" in schema["paths"]
    assert (await api.client.get("/docs")).status_code == 200


async def test_health_and_readiness(api: Api, tmp_path: Path) -> None:
    assert (await api.client.get("/healthz")).json() == {"status": "ok"}
    assert (await api.client.get("/readyz")).json() == {"status": "ready"}
    # a store that cannot be reached: the process is up, not ready
    unreachable = CallStore.create(f"sqlite:///{tmp_path}/missing/dir/intake.db")
    app = create_app(Settings(data_dir=tmp_path), unreachable, clock=utc_now)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://intake") as client:
        assert (await client.get("/healthz")).status_code == 200
        assert error(await client.get("/readyz")) == (503, "unavailable")
        key = {"Authorization": "Bearer ik_anything"}
        assert error(await client.get("/v1/calls", headers=key)) == (503, "unavailable")
    await unreachable.close()


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[sample.name, tuple(sorted(sample.labels.items()))] = sample.value
    return found


async def test_metrics(api: Api, payload: MakePayload) -> None:
    due = await api.call()
    await api.call(to="+14155550124", not_before=(api.clock() + timedelta(hours=1)).isoformat())
    await api.call(to="+80012345678")
    ended = await api.call(to="+14155550125")
    at = datetime(2026, 3, 24, 15, tzinfo=UTC)
    await api.end_call(
        ended["id"],
        payload("customer_feedback"),
        [{"at": at, "outcome": "busy"}, {"at": at, "outcome": "completed"}],
    )
    async with api.store.engine.begin() as conn:
        await conn.execute(
            insert(call_attempts).values(call_id=due["id"], attempt=1, at=at, outcome="busy")
        )
        await conn.execute(
            insert(deliveries).values(
                call_id=ended["id"],
                webhook_id="msg_1",
                endpoint_url="https://a.example/hook",
                status="dead",
                attempts=10,
                created_at=at,
                next_attempt_at=at,
            )
        )
    await api.get("/v1/calls/call_01J00000000000000000000000")  # a 404, timed like the others
    response = await api.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    found = samples(response.text)
    assert found["intake_calls", (("status", "queued"),)] == 2
    assert found["intake_calls", (("status", "blocked"),)] == 1
    assert found["intake_calls", (("status", "ended"),)] == 1
    assert found["intake_calls", (("status", "dialing"),)] == 0
    assert found["intake_queue_depth", ()] == 1  # the other one is not due for an hour
    assert found["intake_dial_outcomes_total", (("outcome", "busy"),)] == 2
    assert found["intake_dial_outcomes_total", (("outcome", "completed"),)] == 1
    assert found["intake_dial_outcomes_total", (("outcome", "no_answer"),)] == 0
    assert found["intake_deliveries", (("status", "dead"),)] == 1
    assert found["intake_deliveries", (("status", "pending"),)] == 0
    created = (("method", "POST"), ("route", "/v1/calls"))
    assert found["intake_api_request_duration_seconds_count", created] == 4
    by_template = (("method", "GET"), ("route", "/v1/calls/{call_id}"))
    assert found["intake_api_request_duration_seconds_count", by_template] == 1
    assert found["intake_api_requests_total", (*by_template, ("status", "404"))] == 1
    assert not any("call_01J" in str(key) for key in found)  # templates, never ids


async def test_background_work_runs_for_the_apps_lifetime(tmp_path: Path, store_url: str) -> None:
    events: list[str] = []

    async def worker(stop: asyncio.Event) -> None:
        events.append("started")
        await stop.wait()
        events.append("stopped")

    async def failing(stop: asyncio.Event) -> None:
        raise RuntimeError("broken")

    async with await CallStore.open(store_url) as store:
        settings = Settings(data_dir=tmp_path)
        app = create_app(settings, store, clock=utc_now, background=[worker, failing])
        with capture_logs() as logs:
            async with app.router.lifespan_context(app):
                await asyncio.sleep(0.01)
                assert events == ["started"]
                assert {"event": "api.background_failed", "error": "RuntimeError"} in [
                    {key: entry[key] for key in ("event", "error") if key in entry}
                    for entry in logs
                ]
        assert events == ["started", "stopped"]


async def test_text_the_store_cannot_keep_never_reaches_it(api: Api) -> None:
    """NUL (which PostgreSQL text refuses) and lone surrogates are refused or made
    printable at the boundary: a 4xx, or a blocked contact, never a 5xx."""
    feedback = "customer_feedback"
    named = {"flow": feedback, "contacts": [{"to": "+14155550101"}]}
    assert error(await api.post("/v1/campaigns", json=named | {"name": "a\x00"})) == (
        422,
        "invalid_request",
    )
    odd = [{"to": "+1415\x005550101", "metadata": {"k\x00": "v\x00"}}]
    created = await api.post("/v1/campaigns", json={"name": "n", "flow": feedback, "contacts": odd})
    assert created.json()["counts"]["blocked"] == 1
    call = await api.call(metadata={"a\x00": "\x00"})
    assert (await api.get(f"/v1/calls/{call['id']}")).json()["metadata"] == {"a\x00": "\x00"}
    assert error(await api.get("/v1/calls/call_%00")) == (404, "not_found")
    assert error(await api.get("/v1/campaigns/cmp_%00/results")) == (404, "not_found")
    filtered = await api.get("/v1/calls", params={"flow": "a\x00", "campaign_id": "c\x00"})
    assert error(filtered) == (422, "invalid_request")
    keyed = await api.post(
        "/v1/calls",
        json={"to": "+14155550101", "flow": feedback},
        headers={"Idempotency-Key": "\x7f"},
    )
    assert error(keyed) == (422, "invalid_request")
    surrogate = b'{"name": "x", "flow": "customer_feedback", "contacts": [{"to": "\\ud800"}]}'
    raw = await api.post(
        "/v1/campaigns", content=surrogate, headers={"content-type": "application/json"}
    )
    assert error(raw) == (422, "invalid_request")
