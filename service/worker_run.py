"""Running ``intake worker`` until it stops, and the exit code that says why.

===== =====================================================================================
code  meaning
===== =====================================================================================
0     stopped on SIGTERM/SIGINT after every running call ended
1     could not run or stopped running: the health port is taken, LiveKit stayed
      unreachable through INTAKE_WORKER__CONNECT_RETRIES, the worker failed, or the drain
      timed out with calls still running
2     bad configuration: a setting or flow (before anything starts), or LiveKit refused
      the API key and secret
130   a second SIGINT stopped it without waiting for running calls (128 + 2)
143   a second SIGTERM did (128 + 15)
===== =====================================================================================

Whatever stopped it, running calls are drained first (up to INTAKE_WORKER__DRAIN_TIMEOUT):
job processes keep their own connection to their room, so a worker that lost LiveKit can
still let its calls finish. A second signal stops waiting: each call is asked to end (see
CLOSE_TIMEOUT). A third leaves on the spot.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import signal
from dataclasses import dataclass
from typing import Literal

import structlog
from livekit.agents import AgentServer

from service.catch_up import caught_up
from service.settings import Settings
from service.worker import build_server, call_store, prepare_gc_for_calls
from service.worker_check import reach_livekit

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
# Seconds AgentServer.aclose() may take: asked to stop, a call gets 15 s before it is
# cancelled, then its session closes and a job process gets 10 s to exit. In livekit-agents
# 1.8.9 it can also hang for good: closing the thread executor while an idle thread is
# still running prewarm leaves that executor waiting for an answer it never reads. The
# worker gives up waiting then.
CLOSE_TIMEOUT = 45.0
PRELOAD_LOCAL_INFERENCE = "LIVEKIT_AGENTS_PRELOAD_LOCAL_INFERENCE"

log = structlog.get_logger("intake.worker")


@dataclass(frozen=True)
class WorkerExit:
    code: int
    reason: str | None = None  # one line for stderr when it did not stop as asked


async def run_worker(settings: Settings, *, dev: bool) -> WorkerExit:
    """Check the credentials, start the server, and run it until it stops."""
    answer = await reach_livekit(settings)
    if answer.kind == "refused":
        log.error("worker.credentials_refused", url=settings.livekit.url)
        return WorkerExit(EXIT_CONFIG, answer.problem)
    if answer.kind != "ok":  # the server retries; a LiveKit that is down may come back
        log.warning("worker.livekit_not_ready", problem=answer.problem)
    # livekit preloads its own VAD and end-of-turn models into every worker (about 250 MB,
    # shared by job processes or held by the worker itself); calls here use Silero VAD and
    # VAD turn detection, never those models. Set the variable to 1 to preload them anyway.
    os.environ.setdefault(PRELOAD_LOCAL_INFERENCE, "0")
    server = build_server(settings, dev=dev)
    if settings.worker.job_executor == "thread":
        prepare_gc_for_calls()  # once, for every call thread (job processes do it in prewarm)
    # Meanwhile the store is migrated and the spool imported, at start, every sweep
    # interval, and once more after the drain (service.catch_up).
    store, spool = call_store(settings)
    async with caught_up(store, spool, interval=settings.webhooks.sweep_interval):
        return await serve(server, settings, dev=dev)


class StopSignals:
    """The first SIGTERM/SIGINT asks for a drain, the second to stop now, a third exits."""

    def __init__(self) -> None:
        self.drain, self.now = asyncio.Event(), asyncio.Event()
        self.received: list[int] = []
        self._loop = asyncio.get_running_loop()
        for sig in STOP_SIGNALS:
            self._loop.add_signal_handler(sig, self._received, sig)

    def _received(self, sig: int) -> None:
        self.received.append(sig)
        name = signal.Signals(sig).name
        if len(self.received) == 1:
            log.info("worker.stop_requested", signal=name)
            self.drain.set()
        elif len(self.received) == 2:
            log.warning("worker.stopping_now", signal=name)
            self.now.set()
        else:
            os._exit(128 + sig)

    @property
    def forced_code(self) -> int | None:
        return 128 + self.received[1] if len(self.received) > 1 else None

    def remove(self) -> None:
        for sig in STOP_SIGNALS:
            self._loop.remove_signal_handler(sig)


async def serve(
    server: AgentServer, settings: Settings, *, dev: bool, close_timeout: float = CLOSE_TIMEOUT
) -> WorkerExit:
    """Run until a signal or a failure, drain running calls, close; say how it ended."""
    signals = StopSignals()
    url, port = settings.livekit.url, settings.worker.http_port

    def started() -> None:
        http_port = server.worker_info.http_port
        log.info("worker.started", agent_name=settings.livekit.agent_name, url=url, port=http_port)

    server.on("worker_started", started)
    running = asyncio.create_task(server.run(devmode=dev), name="agent-server")
    try:
        stop = asyncio.create_task(signals.drain.wait())
        await asyncio.wait({running, stop}, return_when=asyncio.FIRST_COMPLETED)
        stop.cancel()
        failure = _failure(running, settings) if running.done() else None
        if failure is not None:
            log.error("worker.failed", reason=failure.reason, exit_code=failure.code)
        drained = await _drain(server, settings.worker.drain_timeout, signals)
        await _close(server, signals, close_timeout)
    finally:
        signals.remove()
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await running  # its error, if any, was read above
    outcome = _outcome(failure, drained, signals, settings)
    log.info("worker.stopped", exit_code=outcome.code, url=url, port=port)
    return outcome


def _failure(running: asyncio.Task[None], settings: Settings) -> WorkerExit:
    """Why ``AgentServer.run`` ended before anyone asked it to stop."""
    exc = None if running.cancelled() else running.exception()
    port = settings.worker.http_port
    if isinstance(exc, OSError) and exc.errno == errno.EADDRINUSE:
        return WorkerExit(
            EXIT_FAILED, f"the health port {port} is already in use (INTAKE_WORKER__HTTP_PORT)"
        )
    if isinstance(exc, OSError):
        return WorkerExit(EXIT_FAILED, f"the worker could not start: {exc.strerror or exc}")
    if isinstance(exc, RuntimeError) and str(exc).startswith("failed to connect to livekit"):
        retries = settings.worker.connect_retries
        return WorkerExit(
            EXIT_FAILED,
            f"could not connect to LiveKit at {settings.livekit.url} in {retries + 1} attempts"
            " (INTAKE_WORKER__CONNECT_RETRIES); the log has each attempt's error",
        )
    if exc is not None:
        log.error("worker.crashed", exc_info=exc)
        return WorkerExit(EXIT_FAILED, f"the worker failed: {exc.__class__.__name__}")
    return WorkerExit(EXIT_FAILED, "the worker stopped unexpectedly")


async def _drain(
    server: AgentServer, timeout: int, signals: StopSignals
) -> Literal["drained", "timed_out", "forced"]:
    """Let running calls finish: no new ones are taken meanwhile."""
    log.info("worker.draining", timeout=timeout, active_jobs=len(server.active_jobs))
    draining = asyncio.create_task(server.drain(timeout=timeout))
    now = asyncio.create_task(signals.now.wait())
    await asyncio.wait({draining, now}, return_when=asyncio.FIRST_COMPLETED)
    now.cancel()
    if not draining.done():
        draining.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await draining
        return "forced"
    if isinstance(draining.exception(), TimeoutError):
        log.warning("worker.drain_timed_out", timeout=timeout, active_jobs=len(server.active_jobs))
        return "timed_out"
    draining.result()
    return "drained"


async def _close(server: AgentServer, signals: StopSignals, timeout: float) -> None:
    """Close the server (job processes, health endpoint, connection) within ``timeout``.
    After a drain, a second signal stops waiting for it too."""
    closing = asyncio.create_task(asyncio.wait_for(server.aclose(), timeout))
    if not signals.now.is_set():
        now = asyncio.create_task(signals.now.wait())
        await asyncio.wait({closing, now}, return_when=asyncio.FIRST_COMPLETED)
        now.cancel()
        if not closing.done():
            closing.cancel()  # the second signal came while closing
    await asyncio.wait({closing})
    if closing.cancelled():
        log.warning("worker.close_abandoned")
    elif isinstance(closing.exception(), TimeoutError):
        log.warning("worker.close_timed_out", timeout=timeout)
    else:
        closing.result()


def _outcome(
    failure: WorkerExit | None,
    drained: Literal["drained", "timed_out", "forced"],
    signals: StopSignals,
    settings: Settings,
) -> WorkerExit:
    forced = signals.forced_code
    if forced is not None:
        reason = failure.reason if failure else None
        return WorkerExit(forced, reason or "stopped by a second signal, without waiting for calls")
    if failure is not None:
        return failure
    if drained == "timed_out":
        timeout = settings.worker.drain_timeout
        return WorkerExit(
            EXIT_FAILED,
            f"calls were still running after {timeout} s (INTAKE_WORKER__DRAIN_TIMEOUT)",
        )
    return WorkerExit(EXIT_OK)
