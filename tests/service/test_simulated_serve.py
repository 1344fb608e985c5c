"""``intake serve --simulate`` as one process: webhooks delivered in its own loop, retries on
the simulated clock, signatures on real time; a simulated call's payload reaches a receiver."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from standardwebhooks.webhooks import Webhook

from flows.engine.payload import Payload
from flows.spec.catalog import FlowCatalog
from service.delivery.process import run_deliveries
from service.scheduler.clock import SimulatedClock
from service.scheduler.dispatch import Dispatch
from service.scheduler.simulated import SimulatedDispatcher
from service.settings import Settings
from service.store import CallStore
from service.store.schema import delivery_attempts

if TYPE_CHECKING:
    from conftest import WebhookReceiver

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
START = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # months from the real date: signatures tell
SPEED = 600.0


def serve_settings(receiver: WebhookReceiver, tmp_path: Path) -> Settings:
    return Settings.model_validate(
        {
            "data_dir": tmp_path,
            "webhooks": {
                "endpoints": [{"url": receiver.url(), "secrets": [SECRET]}],
                "schedule": [0, 60, 60],
                "jitter": 0,
                "attempt_timeout": 5,
                "poll_interval": 0.02,
            },
        }
    )


@asynccontextmanager
async def delivering(
    settings: Settings, store: CallStore, clock: SimulatedClock
) -> AsyncIterator[None]:
    stop = asyncio.Event()
    task = asyncio.create_task(
        run_deliveries(settings, store, stop, clock=clock, clock_speed=clock.speed)
    )
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


async def received(receiver: WebhookReceiver, count: int, timeout: float = 30) -> None:
    async with asyncio.timeout(timeout):
        while len(receiver.received) < count:
            await asyncio.sleep(0.01)


def verified(body: bytes, headers: dict[str, str]) -> dict[str, Any]:
    """The reference library checks the signature and that the timestamp is the real now."""
    payload: dict[str, Any] = Webhook(SECRET).verify(body, headers)
    return payload


async def test_retries_follow_the_simulated_clock_and_signatures_real_time(
    store_url: str, receiver: WebhookReceiver, tmp_path: Path, make_payload: Any
) -> None:
    from conftest import Reply

    settings = serve_settings(receiver, tmp_path)
    clock = SimulatedClock(START, SPEED)
    async with await CallStore.open(
        store_url, endpoints=settings.webhooks.endpoints, clock=clock
    ) as store:
        payload: Payload = make_payload()
        receiver.script.append(Reply(500))  # then 200
        async with delivering(settings, store, clock):
            await store.call_finished(payload)
            await received(receiver, 2)  # 60 s of its clock: a tenth of a real second
            await asyncio.sleep(0.2)  # no third request comes (the claim's lease held)
        assert len(receiver.received) == 2
        first, second = receiver.received
        assert first.webhook_id == second.webhook_id
        for request in receiver.received:
            assert verified(request.body, request.headers)["call_id"] == payload.call_id
            signed_at = datetime.fromtimestamp(int(request.headers["webhook-timestamp"]), UTC)
            assert abs(signed_at - datetime.now(UTC)) < timedelta(minutes=1)
        async with store._engine.connect() as conn:
            times = (
                await conn.scalars(
                    select(delivery_attempts.c.attempted_at).order_by(delivery_attempts.c.id)
                )
            ).all()
        assert len(times) == 2 and all(START <= t < START + timedelta(days=1) for t in times)
        assert times[1] - times[0] >= timedelta(seconds=60)  # the schedule's step, simulated


async def test_a_simulated_call_reaches_the_receiver_from_one_process(
    store_url: str, receiver: WebhookReceiver, tmp_path: Path
) -> None:
    settings = serve_settings(receiver, tmp_path)
    clock = SimulatedClock(START, SPEED)
    async with await CallStore.open(
        store_url, endpoints=settings.webhooks.endpoints, clock=clock
    ) as store:
        dispatcher = SimulatedDispatcher(
            store, FlowCatalog(), region="US", transfer_to=None, clock=clock
        )
        try:
            async with delivering(settings, store, clock):
                await dispatcher.dispatch(
                    Dispatch(
                        call_id="call_01DEMO",
                        attempt=1,
                        room="call-01demo-1",
                        to="+14155550123",
                        from_="+18005550100",
                        flow="customer_feedback",
                        metadata={"ticket": "T-9"},
                        simulate={"outcome": "busy"},
                    )
                )
                await received(receiver, 1)
        finally:
            await dispatcher.aclose()
    [request] = receiver.received
    body = verified(request.body, request.headers)
    assert (body["call_id"], body["room"], body["status"]) == (
        "call_01DEMO",
        "call-01demo-1",
        "busy",
    )
    assert body["metadata"] == {"ticket": "T-9"} and body["ended_at"].startswith("2026-03-02")
