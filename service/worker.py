"""``intake worker``: the long-running LiveKit Agents server that answers and places calls.

Explicit dispatch under the agent name from settings: inbound calls reach it through a
SIP dispatch rule naming that agent, outbound calls through ``CreateDispatch`` with the
job metadata. Each process loads Silero VAD once (prewarm) and idle processes wait ready.
Start-up, shutdown and exit codes are in ``service.worker_run``; ``--check`` in
``service.worker_check``.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Sequence
from typing import Protocol

import structlog
from livekit.agents import AgentServer, JobContext, JobExecutorType, JobProcess

from service.job import run_call_job
from service.live import live_ports, noise_cancellation
from service.logging import configure_job_logging
from service.settings import Settings, flow_catalog, load_settings, spool_dir
from service.store import CallStore
from service.store.spool import Spool

log = structlog.get_logger("intake.worker")


def prewarm(proc: JobProcess) -> None:
    """Runs once in every job process before it takes a call."""
    from livekit.plugins import silero

    settings = load_settings()
    own_process = proc.executor_type is JobExecutorType.PROCESS  # else a thread of the worker
    if own_process:
        configure_job_logging(settings)
    proc.userdata["settings"] = settings
    proc.userdata["catalog"] = flow_catalog(settings)
    proc.userdata["vad"] = silero.VAD.load()
    proc.userdata["store"], proc.userdata["spool"] = call_store(settings)
    if own_process:  # threads share the worker's heap: prepared once, at start (worker_run)
        prepare_gc_for_calls()


def call_store(settings: Settings) -> tuple[CallStore, Spool]:
    """The store (no I/O: the database may be down) and the spool of one job process."""
    endpoints = settings.webhooks.endpoints
    store = CallStore.create(settings.database.url, endpoints=endpoints)
    return store, Spool(spool_dir(settings))


def prepare_gc_for_calls() -> None:
    """Keep garbage collection from stalling conversations.

    Imports and models leave hundreds of thousands of long-lived objects; a full
    collection walks them all and stalls the event loop for hundreds of milliseconds,
    mid-conversation. Frozen, they are never scanned again. What remains is call state,
    so young collections can run less often: measured with 25 calls in one process
    (bench/concurrent_calls.py), the added p95 per turn drops by about a third.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 20, 50)


async def entrypoint(ctx: JobContext) -> None:
    settings = ctx.proc.userdata.get("settings") or load_settings()
    catalog = ctx.proc.userdata.get("catalog") or flow_catalog(settings)
    store, spool = ctx.proc.userdata.get("store"), ctx.proc.userdata.get("spool")
    if store is None or spool is None:
        store, spool = call_store(settings)
    structlog.contextvars.bind_contextvars(job_id=ctx.job.id)
    try:
        vad = ctx.proc.userdata.get("vad")
        await run_call_job(ctx, live_ports(settings, catalog, vad, store, spool))
    finally:
        await store.close()  # its connections belong to this call's event loop


class RunsJobs(Protocol):
    @property
    def active_jobs(self) -> Sequence[object]: ...


FULL = 1.0  # load_threshold: the worker reports itself full at this load


def call_load(max_calls: int) -> Callable[[RunsJobs], float]:
    """The worker's load as LiveKit sees it: the share of its calls in use.

    AgentServer's default load is CPU use (full at 70 %), which says nothing about memory:
    a job process takes about 125 MB of its own, and a machine can run out of memory long
    before it runs out of CPU. With this load and ``load_threshold=FULL`` the worker
    reports itself full once it runs ``max_calls`` calls (livekit also counts calls it
    accepted but has not started) and LiveKit sends new ones elsewhere.
    """

    def load(server: RunsJobs) -> float:
        return min(len(server.active_jobs) / max_calls, FULL)

    return load


def load_plugins(settings: Settings) -> None:
    """Import the voice plugins here, on the main thread, before any job executor starts.

    A livekit plugin registers itself when first imported and refuses to do so off the
    main thread (``Plugin.register_plugin``), which is where the thread executor runs
    prewarm and calls. Registered before the server starts, they are also preloaded by the
    forkserver that job processes are forked from, so each process starts with them.
    """
    import livekit.plugins.deepgram
    import livekit.plugins.openai
    import livekit.plugins.silero  # noqa: F401

    noise_cancellation(settings)  # Krisp's plugin, when wanted; `on` without it fails here


def build_server(settings: Settings, *, dev: bool = False) -> AgentServer:
    livekit, worker = settings.livekit, settings.worker
    assert livekit.api_key is not None and livekit.api_secret is not None
    load_plugins(settings)
    memory_limit = worker.job_memory_limit_mb
    server = AgentServer(
        ws_url=livekit.url,
        api_key=livekit.api_key.get_secret_value(),
        api_secret=livekit.api_secret.get_secret_value(),
        setup_fnc=prewarm,
        load_fnc=call_load(worker.call_limit),
        load_threshold=FULL,
        num_idle_processes=0 if dev else min(worker.idle_processes, worker.call_limit),
        drain_timeout=worker.drain_timeout,
        job_executor_type=JobExecutorType(worker.job_executor),
        job_memory_limit_mb=memory_limit,
        job_memory_warn_mb=memory_limit * 0.8 if memory_limit else 1000,  # livekit's default
        max_retry=worker.connect_retries,
        port=worker.http_port,
    )
    server.rtc_session(entrypoint, agent_name=livekit.agent_name)
    return server
