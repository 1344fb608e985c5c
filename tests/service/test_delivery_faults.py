"""The delivering process (``intake deliver``) is killed with SIGKILL at random moments,
round after round, two at a time, while calls keep finishing and the receiver keeps
failing some requests. Afterwards every payload (orphans' included) has reached the
receiver; a payload that arrived twice did so under its one webhook-id.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from standardwebhooks.webhooks import Webhook

from flows.engine.payload import Payload
from service.settings import EndpointSettings
from service.store import CallStore

if TYPE_CHECKING:
    from conftest import FakeClock, WebhookReceiver

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
ROUNDS = 4  # each starts two deliverers and SIGKILLs them; a last one drains the outbox
CALLS_PER_ROUND = 50
ORPHANS = 10
INTAKE = str(Path(sys.executable).with_name("intake"))


def deliverer_env(store_url: str, receiver_url: str, data_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "INTAKE_DATA_DIR": str(data_dir),  # its spool: empty, but never the working tree's
        "INTAKE_DATABASE__URL": store_url,
        "INTAKE_WEBHOOKS__ENDPOINTS": json.dumps([{"url": receiver_url, "secrets": [SECRET]}]),
        "INTAKE_WEBHOOKS__SCHEDULE": "[0, 0.05, 0.1, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2]",
        "INTAKE_WEBHOOKS__ATTEMPT_TIMEOUT": "1",  # claims lapse after 2 s
        "INTAKE_WEBHOOKS__CONCURRENCY": "8",
        "INTAKE_WEBHOOKS__POLL_INTERVAL": "0.02",
        "INTAKE_WEBHOOKS__ORPHAN_AFTER": "1",
        "INTAKE_WEBHOOKS__SWEEP_INTERVAL": "0.05",
        "INTAKE_LOG_FORMAT": "json",
        "INTAKE_LOG_LEVEL": "info",
    }


async def start_deliverer(env: dict[str, str], logs: Path) -> asyncio.subprocess.Process:
    """Start ``intake deliver`` (its output to a file of its own); return once it delivers."""
    log = logs / f"deliver-{time.monotonic_ns()}.log"
    with log.open("wb") as sink:
        process = await asyncio.create_subprocess_exec(
            INTAKE, "deliver", env=env, stdout=sink, stderr=sink
        )
    deadline = time.monotonic() + 30
    while b"deliverer.started" not in log.read_bytes():
        assert process.returncode is None, log.read_text()
        assert time.monotonic() < deadline, "the deliverer did not start"
        await asyncio.sleep(0.02)
    return process


async def all_delivered(store: CallStore, count: int) -> bool:
    records = await store.outbox.recent(limit=10 * count)
    return len(records) == count and all(r.status == "delivered" for r in records)


@pytest.mark.slow
async def test_sigkill_at_random_points_loses_no_payload(
    store_url: str,
    receiver: WebhookReceiver,
    make_payload: Callable[..., Payload],
    clock: FakeClock,
    tmp_path: Path,
) -> None:
    from conftest import Reply

    rng = random.Random(20261127)
    # a third of the requests fail or are slow, so kills land mid-request and mid-retry
    receiver.script.extend(
        rng.choice([Reply(), Reply(), Reply(delay=0.03), Reply(500), Reply(503, delay=0.02)])
        for _ in range(2000)
    )
    env = deliverer_env(store_url, receiver.url(), tmp_path / "data")
    endpoint = EndpointSettings.model_validate({"url": receiver.url(), "secrets": [SECRET]})
    expected: dict[str, Payload] = {}
    async with await CallStore.open(store_url, endpoints=[endpoint], clock=clock) as store:
        clock.advance(-3600)  # workers that died an hour ago: the sweeper's to finalise
        for _ in range(ORPHANS):
            orphan = make_payload(status="incomplete", ended_reason="caller_hangup")
            await store.call_started(orphan, worker_id="dead-worker")
            expected[orphan.call_id] = orphan
        clock.advance(3600)
        for _ in range(ROUNDS):
            for _ in range(CALLS_PER_ROUND):
                payload = make_payload()
                await store.call_finished(payload)
                expected[payload.call_id] = payload
            # two deliverers at once, as on two machines, each killed at its own moment
            processes = await asyncio.gather(*(start_deliverer(env, tmp_path) for _ in range(2)))
            for process in processes:
                await asyncio.sleep(rng.uniform(0.0, 0.3))
                process.send_signal(signal.SIGKILL)
                assert await process.wait() == -signal.SIGKILL

        process = await start_deliverer(env, tmp_path)
        deadline = time.monotonic() + 30
        while not await all_delivered(store, len(expected)):
            assert time.monotonic() < deadline, "payloads were lost"
            await asyncio.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        assert await process.wait() == 0  # a clean stop: in-flight attempts finished

    accepted = {json.loads(r.body)["call_id"] for r in receiver.received if r.status == 200}
    assert accepted == expected.keys()
    ids_by_call: dict[str, set[str]] = {}
    for request in receiver.received:
        body = Webhook(SECRET).verify(request.body, request.headers)
        ids_by_call.setdefault(body["call_id"], set()).add(request.webhook_id)
    assert ids_by_call.keys() == expected.keys()
    assert all(len(ids) == 1 for ids in ids_by_call.values())  # duplicates share their id
    delivered = {json.loads(r.body)["call_id"]: json.loads(r.body) for r in receiver.received}
    for call_id, payload in expected.items():
        if payload.status == "incomplete":
            assert (delivered[call_id]["status"], delivered[call_id]["ended_reason"]) == (
                "incomplete",
                "error",
            )
        else:
            assert delivered[call_id] == payload.to_json_dict()
