"""``intake deliver``'s /healthz: 200 while the delivery loop looks at the outbox, 503 once
it has stopped for longer than a look can take; and a real ``intake deliver`` answering on
INTAKE_WEBHOOKS__HEALTH_PORT."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path

import aiohttp
from aiohttp.test_utils import TestClient, TestServer
from conftest import free_port

from service.delivery.health import Liveness, health_app

INTAKE = str(Path(sys.executable).with_name("intake"))
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_look_within_the_allowance_is_healthy() -> None:
    clock = Clock()
    liveness = Liveness(35, clock=clock)
    clock.now += 35
    assert liveness.behind() == 0
    clock.now += 5
    assert liveness.behind() == 5
    liveness.looked()
    assert liveness.behind() == 0


async def test_the_endpoint_says_ok_then_stalled() -> None:
    clock = Clock()
    liveness = Liveness(10, clock=clock)
    async with TestClient(TestServer(health_app(liveness))) as client:
        response = await client.get("/healthz")
        assert (response.status, await response.json()) == (200, {"status": "ok"})
        clock.now += 12.5
        response = await client.get("/healthz")
        assert (response.status, await response.json()) == (
            503,
            {"status": "stalled", "behind_s": 2.5},
        )


async def test_intake_deliver_answers_on_its_health_port(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "INTAKE_DATA_DIR": str(tmp_path),
        "INTAKE_DATABASE__URL": f"sqlite:///{tmp_path / 'intake.db'}",
        "INTAKE_WEBHOOKS__ENDPOINTS": json.dumps(
            [{"url": "http://127.0.0.1:9/hooks", "secrets": [SECRET]}]
        ),
        "INTAKE_WEBHOOKS__HEALTH_PORT": str(port),
    }
    process = await asyncio.create_subprocess_exec(
        INTAKE,
        "deliver",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        async with aiohttp.ClientSession() as http:
            while True:
                assert process.returncode is None, "intake deliver exited"
                try:
                    async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                        assert response.status == 200
                        assert await response.json() == {"status": "ok"}
                        break
                except aiohttp.ClientConnectionError:
                    assert time.monotonic() < deadline, "no answer on the health port"
                    await asyncio.sleep(0.05)
    finally:
        process.terminate()
        _, err = await process.communicate()
    assert process.returncode == 0, err.decode()
