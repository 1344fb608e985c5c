"""No caller data in logs at any level: every command that touches a call runs at debug
level on a call full of canary values, and none of them appears in what it logs (nor in
the output of commands that do not print payloads)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conftest import WebhookReceiver

ROOT = Path(__file__).resolve().parents[2]
INTAKE = str(Path(sys.executable).with_name("intake"))
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
CANARIES = ["quillfeather zanzibarian", "Quillfeather Zanzibarian", "canaryvisit", "xyzzytoken"]


def canary_scenario(directory: Path) -> Path:
    source = ROOT / "examples" / "scenarios" / "patient_intake" / "full_intake.yaml"
    text = source.read_text().replace("jane doe", CANARIES[0]).replace("Jane Doe", CANARIES[1])
    text = text.replace("blood pressure", CANARIES[2])
    path = directory / "canary.yaml"
    path.write_text(text)
    return path


def test_no_command_logs_caller_data_at_debug_level(
    tmp_path: Path, receiver: WebhookReceiver
) -> None:
    from conftest import Reply

    scenario = canary_scenario(tmp_path)
    endpoint = [{"url": receiver.url() + "?token=" + CANARIES[3], "secrets": [SECRET]}]
    env = {
        **os.environ,
        "INTAKE_LOG_LEVEL": "debug",
        "INTAKE_DATA_DIR": str(tmp_path / "data"),
        "INTAKE_WEBHOOKS__ENDPOINTS": json.dumps(endpoint),
        "INTAKE_WEBHOOKS__SCHEDULE": "[0]",  # one failed attempt makes a dead letter to replay
    }
    receiver.script.append(Reply(500))

    def run(*args: str, prints_payload: bool = False) -> None:
        done = subprocess.run([INTAKE, *args], env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode in (0, 1), (args, done.stderr[-500:])
        shown = done.stderr + ("" if prints_payload else done.stdout)
        assert not [c for c in CANARIES if c in shown], (args, shown[-2000:])

    run("simulate", "patient_intake", str(scenario), "--deliver", prints_payload=True)
    run("deliveries", "list")
    run("deliveries", "replay", "--failed")
    run("deliveries", "list", "--failed")
    call_id = json.loads(receiver.received[0].body)["call_id"]
    run("calls", "show", call_id, prints_payload=True)
    run("test", str(scenario))
    run("flows", "show", "patient_intake")
    run("keys", "create", "canary-key")
    deliver = subprocess.Popen(
        [INTAKE, "deliver"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    time.sleep(3)
    deliver.send_signal(signal.SIGTERM)
    out, err = deliver.communicate(timeout=30)
    assert deliver.returncode == 0, err[-500:]
    assert not [c for c in CANARIES if c in out + err]
    # the canaries did travel: in the payloads the receiver got, as they should
    assert CANARIES[1] in receiver.received[-1].body.decode()
