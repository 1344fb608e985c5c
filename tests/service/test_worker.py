"""The worker process: fails fast without settings, starts with them, drains on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

INTAKE = str(Path(sys.executable).with_name("intake"))
LIVE = {
    "INTAKE_LIVEKIT__URL": "ws://127.0.0.1:9",  # nothing listens: the worker keeps retrying
    "INTAKE_LIVEKIT__API_KEY": "devkey",
    "INTAKE_LIVEKIT__API_SECRET": "a-secret-of-at-least-thirty-two-bytes",
    "INTAKE_OPENAI__API_KEY": "sk-test",
    "INTAKE_DEEPGRAM__API_KEY": "dg-test",
    "INTAKE_DEFAULT_FLOW": "patient_intake",
    "INTAKE_WORKER__HTTP_PORT": "0",
    "INTAKE_WORKER__IDLE_PROCESSES": "0",
    "INTAKE_LOG_FORMAT": "json",
}


def env(**extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("INTAKE_")}
    return base | extra


def test_missing_credentials_fail_fast_with_the_setting_named() -> None:
    done = subprocess.run([INTAKE, "worker"], env=env(), capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert (
        done.stderr.strip()
        .splitlines()[-1]
        .startswith("intake: error: INTAKE_LIVEKIT__URL is not set")
    )
    assert "Traceback" not in done.stderr


def test_check_validates_routed_flows() -> None:
    bad = env(**LIVE, INTAKE_ROUTES='{"+18005550100": "no_such_flow"}')
    done = subprocess.run(
        [INTAKE, "worker", "--check"], env=bad, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2 and "INTAKE_ROUTES: +18005550100: unknown flow" in done.stderr
    done = subprocess.run(
        [INTAKE, "worker", "--check"], env=env(**LIVE), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and "worker configuration ok" in done.stdout


def test_worker_starts_and_drains_on_sigterm() -> None:
    process = subprocess.Popen(
        [INTAKE, "worker"],
        env=env(**LIVE),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        started = False
        assert process.stderr is not None
        lines: list[str] = []
        while time.monotonic() < deadline and not started:
            line = process.stderr.readline()
            lines.append(line)
            started = '"worker.started"' in line or "failed to connect to livekit" in line
        assert started, "".join(lines)
        process.send_signal(signal.SIGTERM)
        _, rest = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0
    assert '"worker.draining"' in rest and '"worker.stopped"' in rest
