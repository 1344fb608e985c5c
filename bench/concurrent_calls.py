"""Concurrent calls in one process: latency this code adds per turn, memory per call.

N patient-intake calls run at once in one event loop (sessions sharing a process, as in
the worker's thread executor), each with scripted model and speech delays: the caller's
words reach the agent 200 ms after they stop (STT), every model request takes 300 ms
(LLM), and the agent's speech takes 200 ms to start (TTS, paced before the caller
answers). A turn is timed from the caller's words reaching the session to the agent's
reply; the model's scripted delays inside it are subtracted, leaving what the session,
tools, collector and parsers add. Memory is resident set size (VmRSS) growth per call.
Then the same calls in the worker's default mode, one process per call (each prewarmed
as a job process is: worker imports, Silero VAD), with its resident size.

    .venv/bin/python bench/concurrent_calls.py [--sizes 1 10 25]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
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
from service.worker import prepare_gc_for_calls, prewarm  # noqa: E402
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


def child() -> None:
    """One job process: prewarm as the worker does, then one paced call when told to."""
    from livekit.agents import JobProcess
    from livekit.agents.job import JobExecutorType

    prewarm(JobProcess(executor_type=JobExecutorType.PROCESS, user_arguments=None, http_proxy=None))
    configure_logging(Settings(log_level="error"))
    print("ready", flush=True)
    sys.stdin.readline()  # "go"
    added: list[float] = []
    asyncio.run(one_call(added, 0.0))
    print(json.dumps({"added": added, "rss_mb": rss_mb()}), flush=True)


def run_processes(n: int) -> tuple[list[float], float]:
    """N job processes, one call each, released over the arrival window."""
    script = str(Path(__file__).resolve())
    children = [
        subprocess.Popen(
            [sys.executable, script, "--child"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        for _ in range(n)
    ]
    for process in children:  # start-up (imports, VAD) is not part of a call
        assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    for process in children:
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()
        time.sleep(ARRIVAL_WINDOW / n)
    added: list[float] = []
    rss: list[float] = []
    for process in children:
        out, _ = process.communicate(timeout=120)
        report = json.loads(out.strip().splitlines()[-1])
        added += report["added"]
        rss.append(report["rss_mb"])
    return added, statistics.mean(rss)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 10, 25])
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child()
        return
    configure_logging(Settings(log_level="error"))
    asyncio.run(run_size(1))  # warm-up: imports, caches, first-call costs
    prepare_gc_for_calls()  # as the worker does after prewarm
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
    print("process per call (the worker's default; each: imports, Silero VAD, one call):")
    for n in args.sizes:
        added, rss = run_processes(n)
        p50 = statistics.median(added) * 1000
        p95 = statistics.quantiles(added, n=20)[-1] * 1000
        print(f"{n:5} {len(added):6} {p50:8.1f}ms {p95:8.1f}ms {rss:6.0f} MB/process", flush=True)


if __name__ == "__main__":
    main()
