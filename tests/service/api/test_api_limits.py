"""The per-key quota (429 with Retry-After, by the injected clock) and the size limits (413),
on both databases."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .conftest import ApiFactory

CALL = {"to": "+14155550123", "flow": "customer_feedback"}


def error(response: Any) -> tuple[int, str]:
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    return response.status_code, body["error"]["code"]


async def test_the_quota_counts_creations_per_minute(api_factory: ApiFactory) -> None:
    async with api_factory(quota=3) as api:
        api.clock.now = datetime(2026, 3, 24, 15, 0, 40, tzinfo=UTC)
        for _ in range(3):
            assert (await api.post("/v1/calls", json=CALL)).status_code == 202
        refused = await api.post("/v1/calls", json=CALL)
        assert error(refused) == (429, "rate_limited")
        assert refused.headers["retry-after"] == "20"  # the minute frees up at 15:01:00
        assert "3 calls per minute" in refused.json()["error"]["message"]
        assert (await api.get("/v1/calls")).status_code == 200  # reads are not counted
        api.clock.advance(15)
        assert (await api.post("/v1/calls", json=CALL)).headers["retry-after"] == "5"
        api.clock.advance(5)
        assert (await api.post("/v1/calls", json=CALL)).status_code == 202
        # another key has a quota of its own (the setting's default here)
        other = await api.new_key("other")
        theirs = await api.client.post(
            "/v1/calls", json=CALL, headers={"Authorization": f"Bearer {other}"}
        )
        assert theirs.status_code == 202


async def test_concurrent_requests_never_exceed_the_quota(api_factory: ApiFactory) -> None:
    async with api_factory(quota=5) as api:
        responses = await asyncio.gather(
            *(api.post("/v1/calls", json=CALL) for _ in range(12)),
            api.post("/v1/calls", json=CALL, headers={"Idempotency-Key": "k"}),
        )
        statuses = sorted(response.status_code for response in responses)
        assert statuses == [202] * 5 + [429] * 8


async def test_campaign_contacts_count_against_the_quota(api_factory: ApiFactory) -> None:
    async with api_factory(quota=10) as api:
        api.clock.now = datetime(2026, 3, 24, 15, 0, 0, 500_000, tzinfo=UTC)
        contacts = [{"to": f"+1415555{n:04d}"} for n in range(100, 111)]
        body = {"name": "n", "flow": "customer_feedback", "contacts": contacts}
        whole = await api.post("/v1/campaigns", json=body)
        assert error(whole) == (429, "rate_limited")
        assert "more than this API key's whole quota of 10" in whole.json()["error"]["message"]
        assert whole.headers["retry-after"] == "60"
        body["contacts"] = contacts[:8]
        assert (await api.post("/v1/campaigns", json=body)).status_code == 201
        assert (await api.post("/v1/calls", json=CALL)).status_code == 202
        body["contacts"] = contacts[:2]
        assert error(await api.post("/v1/campaigns", json=body)) == (429, "rate_limited")
        api.clock.advance(60)
        assert (await api.post("/v1/campaigns", json=body)).status_code == 201


async def test_bodies_over_the_limit_are_refused(api_factory: ApiFactory) -> None:
    async with api_factory(max_body_bytes=2048, max_csv_bytes=4096, max_contacts=3) as api:
        big = {**CALL, "metadata": {"note": "x" * 3000}}
        assert error(await api.post("/v1/calls", json=big)) == (413, "too_large")

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as read
            yield b'{"to": "+14155550123", "flow": "customer_feedback", "metadata": {"n": "'
            for _ in range(10):
                yield b"x" * 500
            yield b'"}}'

        streamed = await api.post(
            "/v1/calls", content=chunks(), headers={"content-type": "application/json"}
        )
        assert "content-length" not in streamed.request.headers
        assert error(streamed) == (413, "too_large")
        campaign = {"name": "n", "flow": "customer_feedback", "metadata": "x" * 3000}
        assert error(await api.post("/v1/campaigns", json=campaign)) == (413, "too_large")
        many = [{"to": f"+1415555{n:04d}"} for n in range(100, 104)]
        assert error(
            await api.post(
                "/v1/campaigns", json={"name": "n", "flow": "customer_feedback", "contacts": many}
            )
        ) == (413, "too_large")
        form = {"name": "n", "flow": "customer_feedback"}
        rows = "to\n" + "".join(f"+1415555{n:04d}\n" for n in range(100, 104))
        four = await api.post("/v1/campaigns", data=form, files={"contacts": ("c.csv", rows)})
        assert error(four) == (413, "too_large")
        huge = "to,note\n" + f"+14155550100,{'x' * 5000}\n"
        oversize = await api.post("/v1/campaigns", data=form, files={"contacts": ("c.csv", huge)})
        assert error(oversize) == (413, "too_large")
        fits = "to\n+14155550100\n+14155550101\n+14155550102\n"
        ok = await api.post("/v1/campaigns", data=form, files={"contacts": ("c.csv", fits)})
        assert ok.status_code == 201
        assert (await api.post("/v1/calls", json=CALL)).status_code == 202
