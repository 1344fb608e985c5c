"""Delivery to a real local receiver on SQLite and PostgreSQL: failures, recovery, 410,
Retry-After, dead letters and replay. Every body is verified with the reference library."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook

from flows.engine.payload import Payload
from service.delivery import Deliverer
from service.settings import WebhookSettings
from service.store import CallStore
from service.store.schema import delivery_attempts

if TYPE_CHECKING:
    from conftest import FakeClock, Received, WebhookReceiver

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OTHER_SECRET = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"
MakePayload = Callable[..., Payload]


def webhooks(*endpoints: dict[str, Any], **options: Any) -> WebhookSettings:
    defaults: dict[str, Any] = {"schedule": [0, 1, 1, 1, 1, 1], "jitter": 0, "attempt_timeout": 5}
    return WebhookSettings.model_validate({"endpoints": list(endpoints), **defaults, **options})


def verified(request: Received, secret: str = SECRET) -> dict[str, Any]:
    body: dict[str, Any] = Webhook(secret).verify(request.body, request.headers)
    return body


@dataclass
class Rig:
    store: CallStore
    deliverer: Deliverer
    clock: FakeClock

    async def run(self, advance: float = 0) -> int:
        self.clock.advance(advance)
        return await self.deliverer.run_once()


@pytest.fixture
async def rig_factory(
    store_url: str, clock: FakeClock
) -> AsyncIterator[Callable[[WebhookSettings], Any]]:
    opened: list[CallStore] = []
    async with httpx.AsyncClient() as client:

        async def make(settings: WebhookSettings) -> Rig:
            store = await CallStore.open(store_url, endpoints=settings.endpoints, clock=clock)
            opened.append(store)
            deliverer = Deliverer(store.outbox, client, settings, clock=clock, rng=random.Random(7))
            return Rig(store, deliverer, clock)

        yield make
        for store in opened:
            await store.close()


async def test_a_receiver_that_fails_then_recovers_gets_the_payload_under_one_id(
    rig_factory: Any, receiver: WebhookReceiver, make_payload: MakePayload
) -> None:
    from conftest import Reply

    # 1 s: an attempt on a loaded 2-core CI machine can take a few hundred ms
    settings = webhooks({"url": receiver.url(), "secrets": [SECRET]}, attempt_timeout=1.0)
    rig: Rig = await rig_factory(settings)
    payload = make_payload()
    await rig.store.call_finished(payload)
    receiver.script.extend([Reply(500), Reply(delay=3.0)])
    assert await rig.run() == 1  # 500
    assert await rig.run() == 0  # not due yet
    assert await rig.run(advance=1.5) == 1  # the receiver hangs past the attempt timeout
    receiver.refuse()
    assert await rig.run(advance=1.5) == 1  # connection refused
    receiver.listen()
    assert await rig.run(advance=1.5) == 1  # delivered
    assert await rig.run(advance=100) == 0

    assert len(receiver.received) == 3  # the refused attempt never arrived
    assert len({r.webhook_id for r in receiver.received}) == 1
    assert all(verified(r) == payload.to_json_dict() for r in receiver.received)
    [record] = await rig.store.outbox.recent()
    assert (record.status, record.attempts, record.last_status_code) == ("delivered", 4, 200)
    async with rig.store._engine.connect() as conn:
        attempts = (
            await conn.execute(
                select(delivery_attempts.c.status_code, delivery_attempts.c.error).order_by(
                    delivery_attempts.c.id
                )
            )
        ).all()
    assert [tuple(a) for a in attempts] == [
        (500, None),
        (None, "timeout"),
        (None, "ConnectError"),
        (200, None),
    ]


async def test_after_the_last_attempt_a_dead_letter_that_replay_brings_back(
    rig_factory: Any, receiver: WebhookReceiver, make_payload: MakePayload
) -> None:
    from conftest import Reply

    settings = webhooks({"url": receiver.url(), "secrets": [SECRET]}, schedule=[0, 1, 1])
    rig: Rig = await rig_factory(settings)
    await rig.store.call_finished(make_payload())
    receiver.script.extend([Reply(500)] * 3)
    for advance in (0, 2, 2, 2):
        await rig.run(advance=advance)
    [dead] = await rig.store.outbox.recent(failed_only=True)
    assert (dead.state, dead.attempts, dead.last_status_code) == ("dead", 3, 500)
    assert await rig.store.outbox.replay(None) == [dead.id]
    assert await rig.run() == 1
    assert await rig.store.outbox.recent(failed_only=True) == []
    assert len(receiver.by_id()[dead.webhook_id]) == 4


async def test_410_disables_the_endpoint_until_a_replay(
    rig_factory: Any, receiver: WebhookReceiver, make_payload: MakePayload
) -> None:
    from conftest import Reply

    rig: Rig = await rig_factory(webhooks({"url": receiver.url(), "secrets": [SECRET]}))
    receiver.script.append(Reply(410))
    await rig.store.call_finished(make_payload())
    await rig.run()
    await rig.store.call_finished(make_payload())
    await rig.run()
    assert len(receiver.received) == 1  # the second payload was not even tried
    dead = await rig.store.outbox.recent(failed_only=True)
    assert [(d.last_status_code, d.last_error) for d in dead] == [
        (None, "endpoint disabled"),
        (410, "410 Gone"),
    ]
    assert len(await rig.store.outbox.replay(None)) == 2
    assert await rig.run() == 2
    assert len(receiver.received) == 3


async def test_retry_after_is_obeyed_within_the_schedule(
    rig_factory: Any, receiver: WebhookReceiver, make_payload: MakePayload, clock: FakeClock
) -> None:
    from conftest import Reply

    settings = webhooks({"url": receiver.url(), "secrets": [SECRET]}, schedule=[0, 1, 300])
    rig: Rig = await rig_factory(settings)
    receiver.script.extend(
        [Reply(503, {"retry-after": "120"}), Reply(429, {"retry-after": "9999"})]
    )
    await rig.store.call_finished(make_payload())
    await rig.run()
    [record] = await rig.store.outbox.recent()
    assert record.next_attempt_at - clock.now == timedelta(seconds=120)
    assert await rig.run(advance=100) == 0
    assert await rig.run(advance=21) == 1
    [record] = await rig.store.outbox.recent()
    assert record.next_attempt_at - clock.now == timedelta(seconds=300)  # capped by the schedule


async def test_each_endpoint_has_its_secrets_and_flows(
    rig_factory: Any, make_payload: MakePayload
) -> None:
    from conftest import WebhookReceiver

    first, second = WebhookReceiver(), WebhookReceiver()
    try:
        rig: Rig = await rig_factory(
            webhooks(
                {"url": first.url(), "secrets": [SECRET, OTHER_SECRET]},  # mid-rotation
                {"url": second.url(), "secrets": [OTHER_SECRET], "flows": ["lead_qualification"]},
            )
        )
        await rig.store.call_finished(make_payload(flow="patient_intake"))
        await rig.store.call_finished(make_payload(flow="lead_qualification"))
        assert await rig.run() == 3
        assert len(first.received) == 2 and len(second.received) == 1
        for request in first.received:
            verified(request, SECRET)
            verified(request, OTHER_SECRET)
        assert verified(second.received[0], OTHER_SECRET)["flow"] == "lead_qualification"
        with pytest.raises(Exception, match="No matching signature"):
            verified(second.received[0], SECRET)
    finally:
        first.refuse()
        second.refuse()


async def test_an_endpoint_no_longer_configured_is_a_dead_letter(
    store_url: str, receiver: WebhookReceiver, make_payload: MakePayload
) -> None:
    settings = webhooks({"url": receiver.url(), "secrets": [SECRET]})
    async with await CallStore.open(store_url, endpoints=settings.endpoints) as store:
        await store.call_finished(make_payload())
    async with await CallStore.open(store_url) as store, httpx.AsyncClient() as client:
        assert await Deliverer(store.outbox, client, webhooks()).run_once() == 1
        [dead] = await store.outbox.recent(failed_only=True)
    assert dead.last_error == "endpoint no longer configured" and receiver.received == []


async def test_many_payloads_each_arrive_once(
    rig_factory: Any, receiver: WebhookReceiver, make_payload: MakePayload
) -> None:
    rig: Rig = await rig_factory(webhooks({"url": receiver.url(), "secrets": [SECRET]}))
    payloads = [make_payload() for _ in range(150)]
    for payload in payloads:
        await rig.store.call_finished(payload)
    assert await rig.run() == 150
    received = receiver.by_id()
    assert len(received) == 150 and all(len(r) == 1 for r in received.values())
    assert {verified(r[0])["call_id"] for r in received.values()} == {p.call_id for p in payloads}
