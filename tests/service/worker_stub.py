"""A worker with one running call, for the shutdown tests (run as a script by test_worker.py).

The real ``AgentServer`` and ``serve`` of ``intake worker``, the thread executor, and one job
started the way livekit starts a simulated job (``simulate_job(fake_job=True)``, a mock
room); its entrypoint stands for a call that lasts ``STUB_CALL_SECONDS``, and prewarm takes
``STUB_PREWARM_SECONDS`` (default 0). LiveKit itself is unreachable (the worker keeps
retrying), which does not stop a job that is already running.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time

import structlog
from livekit.agents import AgentServer, JobContext, JobExecutorType, JobProcess

from service.logging import configure_logging
from service.settings import load_settings
from service.worker_run import CLOSE_TIMEOUT, serve

log = structlog.get_logger("stub")


async def a_call(ctx: JobContext) -> None:
    log.info("stub.call_started")
    try:
        await asyncio.sleep(float(os.environ["STUB_CALL_SECONDS"]))
    except asyncio.CancelledError:
        log.info("stub.call_cut")
        raise
    log.info("stub.call_ended")
    ctx.shutdown()


def prewarm(proc: JobProcess) -> None:
    time.sleep(float(os.environ.get("STUB_PREWARM_SECONDS", "0")))


async def main() -> int:
    settings = load_settings()
    configure_logging(settings)
    livekit = settings.livekit
    assert livekit.api_key is not None and livekit.api_secret is not None
    server = AgentServer(
        ws_url=livekit.url,
        api_key=livekit.api_key.get_secret_value(),
        api_secret=livekit.api_secret.get_secret_value(),
        job_executor_type=JobExecutorType.THREAD,
        setup_fnc=prewarm,
        num_idle_processes=1,
        max_retry=settings.worker.connect_retries,
        port=0,
    )
    server.rtc_session(a_call)
    server.on(
        "worker_started",
        lambda: asyncio.ensure_future(server.simulate_job("stub-room", fake_job=True)),
    )
    close_timeout = float(os.environ.get("STUB_CLOSE_TIMEOUT", CLOSE_TIMEOUT))
    stopped = await serve(server, settings, dev=False, close_timeout=close_timeout)
    if stopped.reason:
        print(f"stub: {stopped.reason}", file=sys.stderr)
    return stopped.code


if __name__ == "__main__":
    code = asyncio.run(main())
    sys.stderr.flush()
    os._exit(code)  # as the intake command does: a job thread livekit left behind can't hold it
