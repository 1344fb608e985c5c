"""``intake simulate --deliver``, ``deliveries list|replay``, ``calls show``, as a user runs
them, against a real local receiver, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from standardwebhooks.webhooks import Webhook

from service.cli.main import main

if TYPE_CHECKING:
    from conftest import WebhookReceiver

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SCENARIO = (
    Path(__file__).resolve().parents[2] / "examples/scenarios/patient_intake/full_intake.yaml"
)


@pytest.fixture
def configured(
    store_url: str, receiver: WebhookReceiver, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> WebhookReceiver:
    monkeypatch.setenv("INTAKE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("INTAKE_DATABASE__URL", store_url)
    endpoints = [{"url": receiver.url(), "secrets": [SECRET]}]
    monkeypatch.setenv("INTAKE_WEBHOOKS__ENDPOINTS", json.dumps(endpoints))
    monkeypatch.setenv("INTAKE_WEBHOOKS__SCHEDULE", "[0]")  # one attempt, then a dead letter
    return receiver


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_simulate_deliver_then_show_list_and_replay(
    configured: WebhookReceiver, capsys: pytest.CaptureFixture[str]
) -> None:
    from conftest import Reply

    configured.script.append(Reply(500))
    code, out, err = run(capsys, "simulate", "patient_intake", str(SCENARIO), "--deliver")
    assert code == 0, err
    payload = json.loads(out)
    assert "dead (HTTP 500)" in err and "Jane" not in err  # no caller data on stderr
    [first] = configured.received
    assert Webhook(SECRET).verify(first.body, first.headers) == payload

    code, out, _ = run(capsys, "calls", "show", payload["call_id"])
    assert code == 0 and json.loads(out) == payload

    code, out, _ = run(capsys, "deliveries", "list", "--failed")
    assert code == 0 and payload["call_id"] in out and "HTTP 500" in out
    delivery_id = out.splitlines()[1].split()[0]

    code, out, err = run(capsys, "deliveries", "replay", "--failed")
    assert code == 0 and "replaying 1 deliveries" in err
    assert f"delivery {delivery_id} to {configured.url()}: delivered (HTTP 200)" in out
    code, out, _ = run(capsys, "deliveries", "list", "--failed")
    assert code == 0 and payload["call_id"] not in out

    code, out, _ = run(capsys, "deliveries", "replay", delivery_id)  # resend a delivered one
    assert code == 0 and "delivered (HTTP 200)" in out
    assert len(configured.received) == 3
    assert len({r.webhook_id for r in configured.received}) == 1

    code, out, _ = run(capsys, "deliveries", "list")
    assert code == 0 and "delivered" in out.splitlines()[1]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["deliveries", "replay"], "give either a delivery ID or --failed"),
        (["deliveries", "replay", "1", "--failed"], "give either a delivery ID or --failed"),
        (["deliveries", "replay", "999"], "no delivery 999"),
        (["calls", "show", "call_nope"], "no stored payload for call_nope"),
    ],
)
def test_bad_input_is_one_line_exit_2(
    configured: WebhookReceiver, capsys: pytest.CaptureFixture[str], args: list[str], needle: str
) -> None:
    code, out, err = run(capsys, *args)
    assert (code, out) == (2, "")
    [line] = [line for line in err.splitlines() if line.startswith("intake: error:")]
    assert needle in line


def test_an_unreachable_database_is_one_line_exit_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("INTAKE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("INTAKE_DATABASE__URL", "postgresql://intake:hunter2@127.0.0.1:9/intake")
    code, _, err = run(capsys, "deliveries", "list")
    assert code == 2 and "intake: error: cannot open the database" in err
    assert "hunter2" not in err and "Traceback" not in err


def test_a_data_dir_that_cannot_be_written_is_one_line_exit_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "a-file").write_text("")
    monkeypatch.setenv("INTAKE_DATA_DIR", str(tmp_path / "a-file" / "data"))
    monkeypatch.delenv("INTAKE_DATABASE__URL", raising=False)
    code, out, err = run(capsys, "deliveries", "list")
    assert (code, out) == (2, "")
    line = err.strip().splitlines()[-1]
    assert line.startswith(f"intake: error: INTAKE_DATA_DIR: cannot write to {tmp_path}/a-file/")
    assert "Traceback" not in err
