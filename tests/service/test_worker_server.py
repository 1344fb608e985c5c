"""Admission by calls: the worker's load is its share of INTAKE_WORKER__MAX_CALLS, and the
settings that shape the AgentServer reach it."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import aiohttp
import pytest
from livekit.agents import AgentServer, JobContext, JobExecutorType
from pydantic import ValidationError

from service.settings import Settings, WorkerSettings
from service.worker import FULL, build_server, call_load

CREDENTIALS = {"url": "ws://127.0.0.1:9", "api_key": "devkey", "api_secret": "s" * 32}


@dataclass
class Jobs:
    active_jobs: list[object] = field(default_factory=list)


def test_the_load_is_the_share_of_calls_in_use() -> None:
    load = call_load(max_calls=4)
    assert [load(Jobs([object()] * n)) for n in (0, 1, 3, 4, 6)] == [0.0, 0.25, 0.75, 1.0, 1.0]


def test_max_calls_defaults_by_executor_and_is_bounded() -> None:
    assert WorkerSettings().call_limit == 10
    assert WorkerSettings(job_executor="thread").call_limit == 25
    assert WorkerSettings(job_executor="thread", max_calls=40).call_limit == 40
    for bad in ({"max_calls": 0}, {"max_calls": 501}, {"job_memory_limit_mb": 100}):
        with pytest.raises(ValidationError):
            WorkerSettings.model_validate(bad)
    assert WorkerSettings(job_memory_limit_mb=0).job_memory_limit_mb == 0  # no limit


def test_settings_reach_the_agent_server() -> None:
    settings = Settings(
        livekit=CREDENTIALS,
        worker=WorkerSettings(
            job_executor="thread",
            max_calls=3,
            idle_processes=5,
            job_memory_limit_mb=800,
            connect_retries=4,
            drain_timeout=60,
        ),
    )
    server = build_server(settings)
    assert server._job_executor_type is JobExecutorType.THREAD
    assert server._load_threshold == FULL
    assert server.load_fnc is not None and server.load_fnc(Jobs([1, 2])) == pytest.approx(2 / 3)  # type: ignore[call-arg, arg-type]
    assert (server._job_memory_limit_mb, server._job_memory_warn_mb) == (800, 640)
    assert (server._max_retry, server._drain_timeout) == (4, 60)
    assert server._num_idle_processes == 3  # never more warm than calls allowed
    defaults = build_server(settings.model_copy(update={"worker": WorkerSettings()}))
    assert defaults._job_executor_type is JobExecutorType.PROCESS
    assert (defaults._job_memory_limit_mb, defaults._job_memory_warn_mb) == (512, 409.6)


@pytest.fixture
async def call_ends() -> AsyncIterator[threading.Event]:
    ends = threading.Event()
    yield ends
    ends.set()


async def test_a_server_at_max_calls_reports_itself_full(call_ends: threading.Event) -> None:
    """livekit's own AgentServer, running calls (threads, simulated jobs) with our load."""

    async def a_call(ctx: JobContext) -> None:
        await asyncio.to_thread(call_ends.wait)
        ctx.shutdown()

    server = AgentServer(
        job_executor_type=JobExecutorType.THREAD,
        load_fnc=call_load(max_calls=2),
        load_threshold=FULL,
        num_idle_processes=0,
        host="127.0.0.1",  # all interfaces and port 0 would be one free port per family
        port=0,
    )
    server.rtc_session(a_call)
    running = asyncio.create_task(server.run(unregistered=True))
    try:
        while server.worker_info.http_port == 0:
            await asyncio.sleep(0.05)
        url = f"http://127.0.0.1:{server.worker_info.http_port}/worker"
        async with aiohttp.ClientSession() as http:
            assert (await worker_load(http, url, until=0.0)) == 0.0
            assert server._is_available()
            await server.simulate_job("call-1", fake_job=True)
            assert (await worker_load(http, url, until=0.5)) == 0.5
            assert server._is_available()
            await server.simulate_job("call-2", fake_job=True)
            assert (await worker_load(http, url, until=1.0)) == 1.0
            assert not server._is_available()  # livekit now answers job requests "unavailable"
            call_ends.set()
            assert (await worker_load(http, url, until=0.0)) == 0.0
    finally:
        call_ends.set()
        await server.aclose()
        await running


async def worker_load(http: aiohttp.ClientSession, url: str, *, until: float) -> float:
    """The load the worker reports (GET /worker), once it is ``until`` (5 s at most)."""
    load = -1.0
    async with asyncio.timeout(5):
        while load != until:
            async with http.get(url) as response:
                load = float((await response.json()).get("worker_load", 0.0))
            await asyncio.sleep(0.1)
    return load
