"""``intake keys`` and ``intake serve`` as a user runs them: keys on both databases, the
server in a process of its own answering, then stopping cleanly on SIGTERM, bad options
as one line and exit 2, and a start-up path that never loads livekit.agents."""

from __future__ import annotations

import gc
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from conftest import free_port

from service.cli.main import main

INTAKE = str(Path(sys.executable).with_name("intake"))
LIVEKIT = {
    "INTAKE_LIVEKIT__URL": "http://127.0.0.1:9",
    "INTAKE_LIVEKIT__API_KEY": "devkey",
    "INTAKE_LIVEKIT__API_SECRET": "secret-secret-secret-secret-secret",
}


@pytest.fixture
def configured(store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    env = {
        "INTAKE_DATA_DIR": str(tmp_path / "data"),
        "INTAKE_DATABASE__URL": store_url,
        **LIVEKIT,  # the scheduler dispatches there; nothing listens, so dials are retried
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_keys_create_list_revoke(
    configured: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "keys", "create", "crm", "--quota", "120")
    assert code == 0
    key = out.splitlines()[-1]
    assert key.startswith("ik_") and " " not in key
    code, out, _ = run(capsys, "keys", "create", "batch")
    assert code == 0 and out.splitlines()[-1] != key
    code, _, err = run(capsys, "keys", "create", "crm")
    assert code == 2 and err.count("\n") == 1 and "exists already" in err
    code, out, _ = run(capsys, "keys", "list")
    lines = out.splitlines()
    assert code == 0 and len(lines) == 3
    assert lines[1].split()[:3] == ["crm", key[:10] + "...", "120"]
    assert lines[2].split()[2] == "default" and key not in out  # the key is never shown again
    code, out, _ = run(capsys, "keys", "revoke", "crm")
    assert code == 0 and "revoked" in out
    code, out, _ = run(capsys, "keys", "list")
    assert out.splitlines()[1].split()[-1] != "-"
    code, _, err = run(capsys, "keys", "revoke", "nobody")
    assert code == 2 and err.count("\n") == 1 and "nobody" in err
    code, _, err = run(capsys, "keys", "create", "x", "--quota", "0")
    assert code == 2 and err.count("\n") == 1


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--port", "70000"], "--port"),
        (["--port", "http"], "--port"),
        (["--simulate", "--now", "yesterday"], "--now"),
        (["--simulate", "--speed", "0"], "--speed"),
        (["--simulate", "--speed", "fast"], "--speed"),
        (["--now", "2026-03-24T09:00:00Z"], "--simulate"),
        (["--host", "203.0.113.1"], "cannot listen"),  # no address of this machine
    ],
)
def test_serve_refuses_bad_options_in_one_line(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    says: str,
) -> None:
    monkeypatch.setenv("INTAKE_DATA_DIR", str(tmp_path))
    for name, value in LIVEKIT.items():
        monkeypatch.setenv(name, value)
    code, _, err = run(capsys, "serve", *args)
    assert code == 2, err
    assert err.count("\n") == 1 and says in err, err


def test_serve_without_livekit_names_the_missing_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("INTAKE_DATA_DIR", str(tmp_path))
    for name in LIVEKIT:
        monkeypatch.delenv(name, raising=False)
    code, _, err = run(capsys, "serve", "--port", "0")
    assert code == 2, err
    assert err.count("\n") == 1 and "INTAKE_LIVEKIT__URL: needed to dispatch calls" in err, err


def test_serve_refuses_a_port_in_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("INTAKE_DATA_DIR", str(tmp_path))
    for name, value in LIVEKIT.items():
        monkeypatch.setenv(name, value)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        code, _, err = run(capsys, "serve", "--port", str(taken.getsockname()[1]))
    assert code == 2 and err.count("\n") == 1 and "cannot listen" in err


def test_simulate_options_make_a_clock() -> None:
    from datetime import UTC, datetime

    from service.api.simulation import simulate_options

    ticks = iter([100.0, 110.0])
    options = simulate_options("2026-03-24T09:00:00", 60)
    assert options.now == datetime(2026, 3, 24, 9, tzinfo=UTC)  # no offset: UTC
    clock = options.clock(monotonic=lambda: next(ticks))
    assert clock() == datetime(2026, 3, 24, 9, 10, tzinfo=UTC)  # ten seconds, sixty times


def listening_port(process: subprocess.Popen[str], timeout: float = 60) -> int:
    """The port from the server's ``api.listening`` log line (JSON off a terminal)."""
    assert process.stderr is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            raise AssertionError(f"intake serve ended: {process.wait()}")
        if '"api.listening"' in line:
            return int(json.loads(line)["port"])
    raise AssertionError("intake serve did not start")


def test_serve_answers_then_stops_cleanly_on_sigterm(
    configured: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["keys", "create", "crm"]) == 0
    key = capsys.readouterr().out.splitlines()[-1]
    env = os.environ | configured | {"INTAKE_LOG_FORMAT": "json", "INTAKE_LOG_LEVEL": "info"}
    with subprocess.Popen(
        [INTAKE, "serve", "--port", "0"], env=env, stderr=subprocess.PIPE, text=True
    ) as process:
        try:
            port = listening_port(process)
            base = f"http://127.0.0.1:{port}"
            assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}
            assert httpx.get(f"{base}/readyz").json() == {"status": "ready"}
            created = httpx.post(
                f"{base}/v1/calls",
                json={"to": "+14155550123", "flow": "customer_feedback"},
                headers={"Authorization": f"Bearer {key}"},
            )
            assert created.status_code == 202, created.text
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=30) == 0
            assert process.stderr is not None
            assert '"api.stopped"' in process.stderr.read()
        finally:
            if process.poll() is None:
                process.kill()


PROBE = """
import asyncio, sys
import httpx
import service.cli.main, service.cli.serve, service.cli.keys, service.api.server
from service.api.app import create_app
from service.settings import Settings
from service.store import CallStore
from flows.engine.clock import utc_now
from service.store.api_keys import ApiKeys

async def serve_a_little(url, data):
    async with await CallStore.open(url) as store:
        key = (await ApiKeys(store.engine, utc_now).create("probe")).secret
        app = create_app(Settings(data_dir=data), store, clock=utc_now)
        auth = {"Authorization": f"Bearer {key}"}
        transport = httpx.ASGITransport(app=app)
        async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=transport, base_url="http://intake"
        ) as client:
            await app.state.warm.wait()
            assert (await client.get("/v1/flows", headers=auth)).status_code == 200
            call = {"to": "+14155550123", "flow": "patient_intake"}
            assert (await client.post("/v1/calls", json=call, headers=auth)).status_code == 202

asyncio.run(serve_a_little(sys.argv[1], sys.argv[2]))
heavy = ("livekit.agents", "flows.testing.simulator", "flows.testing.runner")
print([name for name in heavy if name in sys.modules])
"""


def test_the_serve_path_never_imports_livekit_agents(tmp_path: Path) -> None:
    """In a fresh interpreter: the serve command's modules, then the app serving flows
    and creating a call, and still no livekit.agents (seconds to import)."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, f"sqlite:///{tmp_path}/intake.db", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"


GC_PROBE = """
import gc, os, signal, sys, threading, time
import httpx
from service.cli.entry import run

def look(port):
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz")
            break
        except httpx.TransportError:
            time.sleep(0.05)
    print(gc.isenabled(), gc.get_freeze_count() > 0, flush=True)
    os.kill(os.getpid(), signal.SIGTERM)

threading.Thread(target=look, args=(sys.argv[1],), daemon=True).start()
sys.argv = ["intake", "serve", "--port", sys.argv[1]]
run()  # the console script: exits with the command's code
"""


def test_collection_paused_while_loading_is_back_on_once_serve_answers(
    configured: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", GC_PROBE, str(free_port())],
        env=os.environ | configured,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "True"], done.stdout  # on, start-up frozen
    # a start that is refused turns it back on too
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        code, _, _ = run(capsys, "serve", "--port", str(taken.getsockname()[1]))
    assert code == 2 and gc.isenabled()


def test_alembic_is_left_until_a_store_needs_migrating(tmp_path: Path) -> None:
    probe = (
        "import asyncio, sys\n"
        "from service.store import CallStore\n"
        "async def main():\n"
        "    async with await CallStore.open(sys.argv[1]):\n"
        "        pass\n"
        "asyncio.run(main())\n"
        "print('alembic' in sys.modules)\n"
    )
    url = f"sqlite:///{tmp_path}/intake.db"

    def opened() -> str:
        done = subprocess.run(
            [sys.executable, "-c", probe, url], capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    assert opened() == "True"  # a new file: migrated
    assert opened() == "False"  # at the newest revision already: alembic never loads
