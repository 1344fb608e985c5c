"""The worker process: how it starts, drains and stops, and the exit code that says why.

Each test runs a real ``intake worker`` (or tests/service/worker_stub.py, the same server
and shutdown with one call running). LiveKit is either unreachable (the worker keeps
retrying) or the local Twirp server, which refuses a bad key as LiveKit does (HTTP 401).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from fakes.livekit_server import FakeLiveKitServer

INTAKE = str(Path(sys.executable).with_name("intake"))
STUB = str(Path(__file__).with_name("worker_stub.py"))
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


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each worker's spool and SQLite file in a directory of the test's own."""
    monkeypatch.setitem(LIVE, "INTAKE_DATA_DIR", str(tmp_path / "data"))


class Worker:
    """A worker process whose stderr (JSON logs, then ``intake: error:``) is read as it goes."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process, self.lines = process, list[str]()

    @classmethod
    async def start(cls, *command: str, **settings: str) -> Worker:
        process = await asyncio.create_subprocess_exec(
            *command,
            env=env(**LIVE) | settings,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        return cls(process)

    async def wait_for(self, event: str, timeout: float = 60) -> dict[str, object]:
        """The first log record (JSON) whose event is ``event``, reading on as needed."""
        assert self.process.stderr is not None
        async with asyncio.timeout(timeout):
            for line in self.lines:
                if (record := _record(line)) and record.get("event") == event:
                    return record
            while line := (await self.process.stderr.readline()).decode():
                self.lines.append(line)
                if (record := _record(line)) and record.get("event") == event:
                    return record
        raise AssertionError(f"no {event!r} in:\n" + "".join(self.lines))

    async def exit(self, timeout: float = 60) -> int:
        assert self.process.stderr is not None
        rest = await asyncio.wait_for(self.process.stderr.read(), timeout)
        self.lines += rest.decode().splitlines(keepends=True)
        return await self.process.wait()

    def events(self) -> list[str]:
        return [str(record["event"]) for line in self.lines if (record := _record(line))]

    @property
    def stderr(self) -> str:
        return "".join(self.lines)

    def last_line(self) -> str:
        return self.stderr.strip().splitlines()[-1]


def _record(line: str) -> dict[str, object] | None:
    try:
        record = json.loads(line)
    except json.JSONDecodeError:
        return None
    return record if isinstance(record, dict) else None


Start = Callable[..., Awaitable[Worker]]


@pytest.fixture
async def workers() -> AsyncIterator[Start]:
    """Starts workers; kills whatever is left of them at the end of the test."""
    started: list[Worker] = []

    async def start(*command: str, **settings: str) -> Worker:
        started.append(worker := await Worker.start(*command, **settings))
        return worker

    yield start
    for worker in started:
        if worker.process.returncode is None:
            worker.process.kill()
            await worker.process.wait()


def test_missing_credentials_fail_fast_with_the_setting_named() -> None:
    unset = env(INTAKE_DATA_DIR=LIVE["INTAKE_DATA_DIR"])
    done = subprocess.run([INTAKE, "worker"], env=unset, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()  # one line: no library chatter before it
    assert line.startswith("intake: error: INTAKE_LIVEKIT__URL is not set")


@pytest.mark.parametrize("executor", ["process", "thread"])
async def test_worker_starts_prewarms_and_drains_on_sigterm(workers: Start, executor: str) -> None:
    # One idle job process (or thread) is prewarmed at start: prewarm loads Silero VAD.
    # In a thread, that import used to fail: plugins may only register on the main thread.
    worker = await workers(
        INTAKE,
        "worker",
        INTAKE_WORKER__JOB_EXECUTOR=executor,
        INTAKE_WORKER__IDLE_PROCESSES="1",
    )
    await worker.wait_for("worker.started")
    ready = "job runner initialized" if executor == "thread" else "process initialized"
    await worker.wait_for(ready)
    await asyncio.sleep(2)  # a prewarm that failed would have its executor replaced by now
    worker.process.send_signal(signal.SIGTERM)
    assert await worker.exit() == 0
    assert "Plugins must be registered on the main thread" not in worker.stderr
    assert "Traceback" not in worker.stderr and "Exception in thread" not in worker.stderr
    events = worker.events()
    assert events.count(ready) == 1
    registered = [r.get("plugin") for line in worker.lines if (r := _record(line))]
    assert {f"livekit.plugins.{name}" for name in ("silero", "openai", "deepgram")} <= set(
        registered
    )
    assert events.index("worker.stop_requested") < events.index("worker.draining")
    stopped = await worker.wait_for("worker.stopped")
    assert stopped["exit_code"] == 0
    assert not any(line.startswith("intake: error:") for line in worker.lines)


async def test_a_taken_health_port_stops_it_with_1(workers: Start) -> None:
    with socket.socket() as taken:
        taken.bind(("", 0))
        taken.listen()
        port = taken.getsockname()[1]
        worker = await workers(INTAKE, "worker", INTAKE_WORKER__HTTP_PORT=str(port))
        assert await worker.exit() == 1
    assert worker.last_line() == (
        f"intake: error: the health port {port} is already in use (INTAKE_WORKER__HTTP_PORT)"
    )
    assert "worker.started" not in worker.events() and "Traceback" not in worker.stderr


async def test_livekit_unreachable_through_its_retries_stops_it_with_1(workers: Start) -> None:
    started = time.monotonic()
    worker = await workers(INTAKE, "worker", INTAKE_WORKER__CONNECT_RETRIES="1")
    assert await worker.exit() == 1
    assert worker.last_line() == (
        "intake: error: could not connect to LiveKit at ws://127.0.0.1:9 in 2 attempts"
        " (INTAKE_WORKER__CONNECT_RETRIES); the log has each attempt's error"
    )
    assert worker.events().count("failed to connect to livekit, retrying in 0s") == 1
    assert [
        e for e in worker.events() if e in {"worker.failed", "worker.draining", "worker.stopped"}
    ] == ["worker.failed", "worker.draining", "worker.stopped"]
    assert time.monotonic() - started < 30


async def test_credentials_livekit_refuses_stop_it_with_2(workers: Start) -> None:
    async with FakeLiveKitServer() as livekit:
        url = livekit.url
        worker = await workers(
            INTAKE,
            "worker",
            INTAKE_LIVEKIT__URL=livekit.url,
            INTAKE_LIVEKIT__API_KEY=livekit.api_key,
            INTAKE_LIVEKIT__API_SECRET="not-the-secret-" * 3,
        )
        assert await worker.exit() == 2
    assert worker.last_line() == (
        "intake: error: INTAKE_LIVEKIT__API_KEY, INTAKE_LIVEKIT__API_SECRET:"
        f" LiveKit at {url} refused them (HTTP 401)"
    )
    assert "worker.started" not in worker.events()


async def test_sigterm_waits_for_the_running_call(workers: Start) -> None:
    worker = await workers(sys.executable, STUB, STUB_CALL_SECONDS="3")
    await worker.wait_for("stub.call_started")
    worker.process.send_signal(signal.SIGTERM)
    draining = await worker.wait_for("worker.draining")
    assert draining["active_jobs"] == 1
    assert await worker.exit() == 0
    events = worker.events()
    assert events.index("stub.call_ended") < events.index("worker.stopped")
    assert "stub.call_cut" not in events


@pytest.mark.slow
async def test_a_second_sigterm_stops_without_waiting(workers: Start) -> None:
    worker = await workers(sys.executable, STUB, STUB_CALL_SECONDS="600")
    await worker.wait_for("stub.call_started")
    worker.process.send_signal(signal.SIGTERM)
    await worker.wait_for("worker.draining")
    started = time.monotonic()
    worker.process.send_signal(signal.SIGTERM)
    assert await worker.exit() == 143  # 128 + SIGTERM
    # livekit gives a job 15 s to end its entrypoint once asked to shut down, then cuts it
    assert time.monotonic() - started < 30
    assert "stub.call_cut" in worker.events() and "stub.call_ended" not in worker.events()
    assert "worker.stopping_now" in worker.events()


@pytest.mark.slow
async def test_a_drain_that_times_out_exits_1(workers: Start) -> None:
    worker = await workers(
        sys.executable, STUB, STUB_CALL_SECONDS="600", INTAKE_WORKER__DRAIN_TIMEOUT="1"
    )
    await worker.wait_for("stub.call_started")
    worker.process.send_signal(signal.SIGINT)
    assert await worker.exit() == 1
    assert worker.last_line() == (
        "stub: calls were still running after 1 s (INTAKE_WORKER__DRAIN_TIMEOUT)"
    )
    assert "worker.drain_timed_out" in worker.events()


async def test_a_close_that_livekit_never_finishes_is_cut_short(workers: Start) -> None:
    # The call starts, so the pool warms a replacement thread (5 s of prewarm); the call
    # ends after 1 s and the drain with it. Closing livekit's thread executor while that
    # thread is still in prewarm never returns (livekit-agents 1.8.9).
    worker = await workers(
        sys.executable,
        STUB,
        STUB_CALL_SECONDS="1",
        STUB_PREWARM_SECONDS="5",
        STUB_CLOSE_TIMEOUT="2",
    )
    await worker.wait_for("stub.call_started")
    worker.process.send_signal(signal.SIGTERM)
    assert await worker.exit(timeout=30) == 0
    events = worker.events()
    assert events.index("stub.call_ended") < events.index("worker.close_timed_out")
    assert "worker.stopped" in events


async def test_a_second_sigterm_stops_waiting_for_the_close_too(workers: Start) -> None:
    worker = await workers(sys.executable, STUB, STUB_CALL_SECONDS="1", STUB_PREWARM_SECONDS="5")
    await worker.wait_for("stub.call_started")
    worker.process.send_signal(signal.SIGTERM)
    await worker.wait_for("shutting down worker")  # livekit's close has begun, and hangs
    started = time.monotonic()
    worker.process.send_signal(signal.SIGTERM)
    assert await worker.exit(timeout=30) == 143
    assert time.monotonic() - started < 10
    assert "worker.close_abandoned" in worker.events()
