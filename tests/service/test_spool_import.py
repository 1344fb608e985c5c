"""Whoever starts next imports the spool: ``intake deliver`` (then delivers what it
imported) and the worker's main process, each run as a user runs it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from standardwebhooks.webhooks import Webhook

from flows.engine.payload import Payload
from service.store import CallStore
from service.store.spool import Spool, SpoolEntry

if TYPE_CHECKING:
    from conftest import WebhookReceiver

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
INTAKE = str(Path(sys.executable).with_name("intake"))


def environment(**settings: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("INTAKE_")}
    return base | {"INTAKE_LOG_FORMAT": "json", "INTAKE_LOG_LEVEL": "info"} | settings


def wait_for(process: subprocess.Popen[str], needle: str, timeout: float = 60) -> list[str]:
    """stderr lines up to the first that holds ``needle``."""
    assert process.stderr is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line and process.poll() is not None:
            break
        lines.append(line)
        if needle in line:
            return lines
    raise AssertionError(f"no {needle} in:\n{''.join(lines)}")


def stop(process: subprocess.Popen[str]) -> tuple[int, str]:
    process.send_signal(signal.SIGTERM)
    try:
        _, rest = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    return process.returncode, rest


def test_deliver_imports_the_spool_at_start_then_delivers_it(
    store_url: str,
    receiver: WebhookReceiver,
    tmp_path: Path,
    make_payload: Callable[..., Payload],
) -> None:
    payload = make_payload()
    spool = Spool(tmp_path / "data" / "spool")
    spool.write(SpoolEntry(payload=payload))
    env = environment(
        INTAKE_DATA_DIR=str(tmp_path / "data"),
        INTAKE_DATABASE__URL=store_url,
        INTAKE_WEBHOOKS__ENDPOINTS=json.dumps([{"url": receiver.url(), "secrets": [SECRET]}]),
        INTAKE_WEBHOOKS__POLL_INTERVAL="0.05",
    )
    process = subprocess.Popen(
        [INTAKE, "deliver"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        lines = wait_for(process, '"deliverer.started"')
        deadline = time.monotonic() + 30
        while not receiver.received:
            assert time.monotonic() < deadline, "the spooled payload was not delivered"
            time.sleep(0.05)
    finally:
        code, rest = stop(process)
    assert code == 0
    [imported] = [json.loads(line) for line in lines if '"spool.imported"' in line]
    assert (imported["imported"], imported["left"], imported["corrupt"]) == (1, 0, 0)
    [request] = receiver.received
    assert Webhook(SECRET).verify(request.body, request.headers) == payload.to_json_dict()
    assert spool.read().entries == []
    assert "Zo\\u00eb" not in "".join(lines) + rest and "Quill" not in "".join(lines) + rest


async def test_the_worker_imports_the_spool_at_start(
    tmp_path: Path, make_payload: Callable[..., Payload]
) -> None:
    payload = make_payload()
    spool = Spool(tmp_path / "spool")
    spool.write(SpoolEntry(payload=payload))
    env = environment(
        INTAKE_DATA_DIR=str(tmp_path),  # the default SQLite file: tmp_path/intake.db
        INTAKE_LIVEKIT__URL="ws://127.0.0.1:9",  # nothing listens: the worker keeps retrying
        INTAKE_LIVEKIT__API_KEY="devkey",
        INTAKE_LIVEKIT__API_SECRET="a-secret-of-at-least-thirty-two-bytes",
        INTAKE_OPENAI__API_KEY="sk-test",
        INTAKE_DEEPGRAM__API_KEY="dg-test",
        INTAKE_DEFAULT_FLOW="patient_intake",
        INTAKE_WORKER__HTTP_PORT="0",
        INTAKE_WORKER__IDLE_PROCESSES="0",
    )
    process = subprocess.Popen(
        [INTAKE, "worker"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        wait_for(process, '"spool.imported"')
    finally:
        stop(process)
    assert spool.read().entries == []
    async with await CallStore.open(f"sqlite:///{tmp_path / 'intake.db'}") as store:
        assert await store.get_payload(payload.call_id) == payload
