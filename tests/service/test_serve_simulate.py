"""``intake serve --simulate`` end to end, as a newcomer runs it: a real process, curl-like
HTTP, a simulated clock, and a local receiver that verifies each webhook's signature with
the standardwebhooks library."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from conftest import free_port
from standardwebhooks.webhooks import Webhook

if TYPE_CHECKING:
    from conftest import WebhookReceiver

pytestmark = pytest.mark.slow

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
INTAKE = str(Path(sys.executable).with_name("intake"))
# Monday 15:00 UTC: 10:00 in New York, inside the default window (09:00-20:00, Mon-Sat).
NOW = "2026-12-07T15:00:00Z"
NEW_YORK = "+1212555{:04d}"
SURVEY = {
    "answers": {
        "welcome": "sure",
        "customer_identification.customer_full_name": "John Doe",
        "customer_identification.service_order_number": "334",
        "service_type.service_type": "plumbing",
        "satisfaction.rating": "five",
        "recommendation.nps": "ten",
        "resolution.issue_resolved": "yes",
        "comments.comments": "great work",
    }
}


class Serve:
    """``intake serve --simulate`` in a subprocess, and an HTTP client with a key."""

    def __init__(self, env: dict[str, str], speed: int) -> None:
        created = subprocess.run(
            [INTAKE, "keys", "create", "e2e"], env=env, capture_output=True, text=True, check=True
        )
        key = created.stdout.strip().splitlines()[-1]
        port = free_port()
        command = [INTAKE, "serve", "--simulate", "--port", str(port), "--now", NOW]
        self.process = subprocess.Popen([*command, "--speed", str(speed)], env=env)
        self.http = httpx.Client(
            base_url=f"http://127.0.0.1:{port}",
            headers={"Authorization": f"Bearer {key}"},
            timeout=10,
        )
        self.wait(lambda: self._healthy(), timeout=30, what="/healthz")

    def _healthy(self) -> bool:
        assert self.process.poll() is None, "intake serve exited"
        try:
            return self.http.get("/healthz").status_code == 200
        except httpx.TransportError:
            return False

    @staticmethod
    def wait(ready: Any, *, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            time.sleep(0.1)

    def stop(self) -> None:
        self.http.close()
        self.process.send_signal(signal.SIGTERM)
        assert self.process.wait(timeout=30) == 0


@pytest.fixture
def serve_env(store_url: str, tmp_path: Path, receiver: WebhookReceiver) -> dict[str, str]:
    endpoints = [{"url": receiver.url(), "secrets": [SECRET]}]
    return {
        **os.environ,
        "INTAKE_DATABASE__URL": store_url,
        "INTAKE_DATA_DIR": str(tmp_path / "data"),
        "INTAKE_WEBHOOKS__ENDPOINTS": json.dumps(endpoints),
        "INTAKE_LOG_LEVEL": "warning",
    }


@pytest.fixture
def serve_fast(serve_env: dict[str, str]) -> Iterator[Serve]:
    server = Serve(serve_env, speed=600)  # ten simulated minutes per real second
    yield server
    server.stop()


def verified_webhooks(receiver: WebhookReceiver) -> dict[str, dict[str, Any]]:
    """Every webhook received, by call id, each verified as a receiver would."""
    verifier = Webhook(SECRET)
    payloads: dict[str, dict[str, Any]] = {}
    for request in list(receiver.received):
        payload = verifier.verify(request.body, request.headers)
        assert payload["call_id"] not in payloads, "a call was delivered twice"
        payloads[payload["call_id"]] = payload
    return payloads


def test_a_call_is_placed_watched_and_its_signed_webhook_received(
    serve_fast: Serve, receiver: WebhookReceiver
) -> None:
    body = {"to": "(212) 555-0123", "flow": "customer_feedback", "metadata": {"ticket": "T-1"}}
    created = serve_fast.http.post("/v1/calls", json=body | {"simulate": SURVEY})
    assert created.status_code == 202, created.text
    call = created.json()
    assert call["status"] == "queued"
    assert call["to"] == "+12125550123"

    def ended() -> bool:
        return bool(serve_fast.http.get(f"/v1/calls/{call['id']}").json()["status"] == "ended")

    serve_fast.wait(ended, timeout=60, what="the call to end")
    final = serve_fast.http.get(f"/v1/calls/{call['id']}").json()
    payload = final["payload"]
    assert payload["call_id"] == call["id"]
    assert payload["status"] == "completed"
    assert payload["results"]["satisfaction"] == {"rating": 5}
    assert payload["metadata"] == {"ticket": "T-1"}
    assert payload["started_at"].startswith("2026-12-07T15:")  # the simulated clock
    assert [attempt["outcome"] for attempt in final["attempts"]] == ["completed"]

    serve_fast.wait(lambda: receiver.received, timeout=30, what="the webhook")
    assert verified_webhooks(receiver)[call["id"]] == payload


def test_a_csv_campaign_retries_busy_and_unanswered_callees_on_the_simulated_clock(
    serve_fast: Serve, receiver: WebhookReceiver
) -> None:
    rows = ["to,timezone,customer,simulate"]
    for n in range(20):
        outcome = "busy" if n < 4 else "no_answer" if n < 8 else "answered"
        script = json.dumps({"outcome": outcome, **(SURVEY if outcome == "answered" else {})})
        quoted = '"' + script.replace('"', '""') + '"'
        rows.append(f"{NEW_YORK.format(n)},,Customer {n},{quoted}")
    created = serve_fast.http.post(
        "/v1/campaigns",
        data={"name": "December survey", "flow": "customer_feedback"},
        files={"contacts": ("contacts.csv", "\r\n".join(rows).encode(), "text/csv")},
    )
    assert created.status_code == 201, created.text
    campaign = created.json()
    assert campaign["counts"]["queued"] == 20

    def done() -> bool:
        status = serve_fast.http.get(f"/v1/campaigns/{campaign['id']}").json()["status"]
        return bool(status == "done")

    # no_answer: 3 dials 7,200 s apart = 4 simulated hours = 24 s at 600x
    serve_fast.wait(done, timeout=120, what="the campaign to finish")
    counts = serve_fast.http.get(f"/v1/campaigns/{campaign['id']}").json()["counts"]
    assert counts["busy"] == 4 and counts["no_answer"] == 4 and counts["completed"] == 12

    lines = serve_fast.http.get(f"/v1/campaigns/{campaign['id']}/results").text.splitlines()
    results = {row["to"]: row for row in map(json.loads, lines)}
    assert len(results) == 20
    calls = serve_fast.http.get("/v1/calls", params={"campaign_id": campaign["id"]}).json()
    by_number = {call["to"]: call for call in calls["items"]}
    busy = by_number[NEW_YORK.format(0)]
    assert [attempt["outcome"] for attempt in busy["attempts"]] == ["busy"] * 3
    assert [attempt["sip_status"] for attempt in busy["attempts"]] == [486] * 3
    assert busy["metadata"] == {"customer": "Customer 0"}
    gaps = [
        _seconds(later["at"]) - _seconds(earlier["at"])
        for earlier, later in zip(busy["attempts"], busy["attempts"][1:], strict=False)
    ]
    assert all(gap >= 600 for gap in gaps)
    unanswered = by_number[NEW_YORK.format(4)]
    assert len(unanswered["attempts"]) == 3

    serve_fast.wait(lambda: len(receiver.received) >= 20, timeout=30, what="20 webhooks")
    webhooks = verified_webhooks(receiver)
    assert len(webhooks) == 20  # one per call, only its final payload
    assert webhooks[busy["id"]]["status"] == "busy"


def _seconds(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
