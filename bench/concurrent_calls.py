"""Concurrent calls in one process: latency this code adds per turn, memory per call.

N patient-intake calls run at once in one event loop (sessions sharing a process, as in
the worker's thread executor), each with scripted model and speech delays: the caller's
words reach the agent 200 ms after they stop (STT), every model request takes 300 ms
(LLM), and the agent's speech takes 200 ms to start (TTS, paced before the caller
answers). A turn is timed from the caller's words reaching the session to the agent's
reply; the model's scripted delays inside it are subtracted, leaving what the session,
tools, collector and parsers add. Memory is resident set size (VmRSS) growth per call.
Last, the footprint of one job process as in the default process-per-job mode: a fresh
interpreter that imports the worker, loads Silero VAD (prewarm) and runs one call.

    .venv/bin/python bench/concurrent_calls.py [--sizes 1 10 25]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from livekit.agents import llm  # noqa: E402

from flows.call import Call  # noqa: E402
from flows.catalog import FlowCatalog  # noqa: E402
from flows.offline import OfflineLLM  # noqa: E402
from flows.record import Question  # noqa: E402
from flows.runner import prepare  # noqa: E402
from flows.simulator import (  # noqa: E402
    CallerAction,
    ScenarioCaller,
    SimulationOptions,
    call_info,
    run_call,
)
from service.logging import configure_logging  # noqa: E402
from service.settings import Settings  # noqa: E402
from service.worker import freeze_startup_objects  # noqa: E402
from sip.transfer import ScriptedTransferer  # noqa: E402

SCENARIO = ROOT / "examples/scenarios/patient_intake/full_intake.yaml"
STT, LLM, TTS = 0.200, 0.300, 0.200
ARRIVAL_WINDOW = 2.0  # seconds over which the N calls start
CATALOG = FlowCatalog()  # one per process, as in the worker


class DelayedLLM(OfflineLLM):
    """The offline engine answering after a model's scripted latency."""

    def __init__(self, call: Call, requests: list[float]) -> None:
        super().__init__(call.collector)
        self._requests = requests

    def chat(self, **kwargs: Any) -> Any:
        self._requests.append(time.perf_counter())
        return _Delayed(super().chat(**kwargs))


class _Delayed:
    """Wraps an LLMStream: the first chunk comes LLM seconds after the request."""

    def __init__(self, stream: llm.LLMStream) -> None:
        self._stream = stream

    async def __aenter__(self) -> _Delayed:
        await self._stream.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stream.__aexit__(*exc)

    def __aiter__(self) -> _Delayed:
        self._first = True
        return self

    async def __anext__(self) -> Any:
        if self._first:
            self._first = False
            await asyncio.sleep(LLM)
        return await self._stream.__anext__()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class PacedCaller(ScenarioCaller):
    """The scenario's caller, hearing the agent (TTS) and being transcribed (STT)."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.sent: list[float] = []

    async def respond(self, question: Question) -> CallerAction:
        await asyncio.sleep(TTS + STT)
        action = await super().respond(question)
        self.sent.append(time.perf_counter())
        return action


async def one_call(added: list[float], start_after: float) -> None:
    await asyncio.sleep(start_after)  # calls arrive over a second or two, not all at once
    prepared = prepare(SCENARIO, CATALOG, SimulationOptions(), None)
    call = Call(prepared.spec, call_info(prepared.scenario), transferer=ScriptedTransferer())
    requests: list[float] = []
    replies: list[float] = []
    caller = PacedCaller(prepared.scenario)
    payload = await run_call(
        call,
        caller,
        model=DelayedLLM(call, requests),
        transcript=lambda who, _text: (
            replies.append(time.perf_counter()) if who == "agent" else None
        ),
    )
    assert payload.status == "completed", payload.status
    for sent in caller.sent:
        reply = next((r for r in replies if r > sent), None)
        if reply is None:
            continue
        model_time = LLM * sum(1 for r in requests if sent <= r < reply)
        added.append(max(0.0, reply - sent - model_time))


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def run_size(n: int) -> tuple[list[float], float, float]:
    gc.collect()
    before = rss_mb()
    added: list[float] = []
    peak = before
    started = time.perf_counter()
    arrivals = [ARRIVAL_WINDOW * i / n for i in range(n)]
    tasks = [asyncio.create_task(one_call(added, at)) for at in arrivals]
    while not all(t.done() for t in tasks):
        peak = max(peak, rss_mb())
        await asyncio.sleep(0.05)
    await asyncio.gather(*tasks)
    return added, (peak - before) / n, time.perf_counter() - started


JOB_PROCESS = """
import asyncio, sys
sys.path.insert(0, {root!r})
from livekit.agents import JobProcess
from livekit.agents.job import JobExecutorType
import service.worker as worker
proc = JobProcess(executor_type=JobExecutorType.PROCESS, user_arguments=None, http_proxy=None)
worker.prewarm(proc)
from flows.runner import prepare, run_prepared
from flows.catalog import FlowCatalog
from flows.simulator import SimulationOptions
from pathlib import Path
p = prepare(Path({scenario!r}), FlowCatalog(), SimulationOptions(), None)
asyncio.run(run_prepared(p, SimulationOptions()))
status = dict(l.split(":", 1) for l in open("/proc/self/status").read().splitlines() if ":" in l)
print(int(status["VmRSS"].split()[0]) // 1024, int(status["VmHWM"].split()[0]) // 1024)
"""


def job_process_footprint() -> tuple[int, int]:
    code = JOB_PROCESS.format(root=str(ROOT), scenario=str(SCENARIO))
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout.split()
    return int(out[-2]), int(out[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 10, 25])
    args = parser.parse_args()
    configure_logging(Settings(log_level="error"))
    asyncio.run(run_size(1))  # warm-up: imports, caches, first-call costs
    freeze_startup_objects()  # as the worker does after prewarm
    print(
        f"{'calls':>5} {'turns':>6} {'added p50':>10} {'added p95':>10} {'MB/call':>8} {'wall':>7}"
    )
    for n in args.sizes:
        added, per_call, wall = asyncio.run(run_size(n))
        p50 = statistics.median(added) * 1000
        p95 = statistics.quantiles(added, n=20)[-1] * 1000
        print(
            f"{n:5} {len(added):6} {p50:8.1f}ms {p95:8.1f}ms {per_call:8.1f} {wall:6.1f}s",
            flush=True,
        )
    rss, peak = job_process_footprint()
    print(f"one job process (worker, Silero VAD, one call): {rss} MB resident, {peak} MB peak")


if __name__ == "__main__":
    main()
