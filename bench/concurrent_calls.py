"""Concurrent calls: the latency this code adds per turn, and what a call costs in memory,
against a bare livekit-agents session and in each of the worker's executors.

N patient-intake calls run at once, each with scripted model and speech delays: the
caller's words reach the agent 200 ms after they stop (STT), every model request takes
300 ms (LLM), and the agent's speech takes 200 ms to start (TTS, paced before the caller
answers). A turn is timed from the caller's words reaching the session to the agent's
reply; the model's scripted delays inside it are subtracted, leaving what the session,
tools, collector and parsers add. The calls arrive over two seconds, in three settings:

- one event loop: N sessions as tasks of one loop, no executor; the code's own cost, as
  measured before the executors were (comparable with earlier figures);
- thread executor (INTAKE_WORKER__JOB_EXECUTOR=thread): livekit's AgentServer runs N
  simulated jobs (``simulate_job(fake_job=True)``, a mock room) in its ThreadJobExecutor,
  each prewarmed beforehand by the worker's own ``prewarm`` (Silero VAD included); memory
  is the worker process's resident growth per call, warm-up included;
- process executor (the default): the same through the ProcJobExecutor (forkserver, the
  plugins preloaded as ``intake worker`` does); memory is each job process's RSS and PSS
  at the end of its call (PSS is what INTAKE_WORKER__JOB_MEMORY_LIMIT_MB is compared with).

First, against a baseline (bench/bare_session.py): in this process, alternating, the
project's calls and a bare AgentSession's with the same scripted model, caller and words,
one tool call per turn; per-turn latency, CPU per turn and memory per call are printed as
project / baseline ratios at 1 and 25 calls. Each executor measurement then runs in a
fresh process of this script.

    .venv/bin/python bench/concurrent_calls.py [--sizes 1 10 25] [--no-executors]
    .venv/bin/python bench/concurrent_calls.py --profile 10    # cProfile of 10 calls
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import functools
import gc
import itertools
import json
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402
from bare_session import ARRIVAL_WINDOW, STT, TTS, Comparison, Delayed, Turns, bare_call, compare  # noqa: E402
from livekit.agents import AgentServer, JobContext, JobExecutorType, JobProcess  # noqa: E402

from flows.agent.offline import OfflineLLM  # noqa: E402
from flows.engine.call import Call  # noqa: E402
from flows.engine.record import Question  # noqa: E402
from flows.spec.catalog import FlowCatalog  # noqa: E402
from flows.testing.callers import (  # noqa: E402
    CallerAction,
    ScenarioCaller,
    ScriptedTransferer,
)
from flows.testing.runner import PreparedScenario, prepare  # noqa: E402
from flows.testing.simulator import (  # noqa: E402
    SimulationOptions,
    Transcript,
    call_info,
    run_call,
)
from service.logging import configure_logging  # noqa: E402
from service.settings import Settings, load_settings  # noqa: E402
from service.worker import FULL, call_load, load_plugins, prepare_gc_for_calls, prewarm  # noqa: E402
from service.worker_run import CLOSE_TIMEOUT, PRELOAD_LOCAL_INFERENCE  # noqa: E402

SCENARIO = ROOT / "examples/scenarios/patient_intake/full_intake.yaml"
CATALOG = FlowCatalog()  # one per process, as in the worker
RESULTS = "BENCH_RESULTS"  # environment: the directory where each job leaves its figures
MB = 1024 * 1024


class DelayedLLM(OfflineLLM):
    """The offline engine answering after a model's scripted latency."""

    def __init__(self, call: Call, requests: list[float]) -> None:
        super().__init__(call.collector)
        self._requests = requests

    def chat(self, **kwargs: Any) -> Any:
        self._requests.append(time.perf_counter())
        return Delayed(super().chat(**kwargs))


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


@functools.cache
def scenario() -> PreparedScenario:
    """Read once: a live call loads no scenario file (and YAML parsing is slow CPU)."""
    return prepare(SCENARIO, CATALOG, SimulationOptions(), None)


async def project_call(transcript: Transcript | None = None) -> Turns:
    """One patient-intake call of this project, paced and timed."""
    prepared = scenario()
    call = Call(prepared.spec, call_info(prepared.scenario), transferer=ScriptedTransferer())
    turns = Turns()
    caller = PacedCaller(prepared.scenario)

    def heard(who: str, text: str) -> None:
        if who == "agent":
            turns.replies.append(time.perf_counter())
        if transcript is not None:
            transcript(who, text)

    payload = await run_call(call, caller, model=DelayedLLM(call, turns.requests), transcript=heard)
    assert payload.status == "completed", payload.status
    turns.sent = caller.sent
    return turns


async def one_call(added: list[float], start_after: float) -> None:
    await asyncio.sleep(start_after)
    turns = await project_call()
    added.extend(a for _, a in turns.waits())


def rss_mb() -> float:
    return psutil.Process().memory_info().rss / MB


async def in_one_loop(n: int) -> dict[str, Any]:
    gc.collect()
    before = peak = rss_mb()
    added: list[float] = []
    tasks = [asyncio.create_task(one_call(added, ARRIVAL_WINDOW * i / n)) for i in range(n)]
    while not all(t.done() for t in tasks):
        peak = max(peak, rss_mb())
        await asyncio.sleep(0.05)
    await asyncio.gather(*tasks)
    return {"added": added, "mb_per_call": (peak - before) / n}


# -- through livekit's executors, as the worker runs calls --------------------------------


def bench_prewarm(proc: JobProcess) -> None:
    prewarm(proc)  # the worker's own
    (Path(os.environ[RESULTS]) / f"ready-{uuid.uuid4().hex}").touch()


async def bench_call(ctx: JobContext) -> None:
    added: list[float] = []
    await one_call(added, 0.0)
    report: dict[str, Any] = {"added": added}
    if ctx.proc.executor_type is JobExecutorType.PROCESS:  # a thread's is the worker's
        memory = psutil.Process().memory_full_info()  # (reading it stalls a loop ~0.2 s)
        report |= {"rss_mb": memory.rss / MB, "pss_mb": memory.pss / MB}
    (Path(os.environ[RESULTS]) / f"call-{ctx.job.id}.json").write_text(json.dumps(report))
    ctx.shutdown()


async def through_executor(executor: str, n: int) -> dict[str, Any]:
    results = Path(tempfile.mkdtemp(prefix="bench-calls-"))
    os.environ[RESULTS] = str(results)
    os.environ.setdefault(PRELOAD_LOCAL_INFERENCE, "0")  # as run_worker does
    load_plugins(load_settings())  # as build_server does
    if executor == "thread":
        prepare_gc_for_calls()  # as run_worker does (job processes do it in prewarm)
    server = AgentServer(
        job_executor_type=JobExecutorType(executor),
        setup_fnc=bench_prewarm,
        num_idle_processes=n,  # warm before the calls: start-up is not part of a call
        initialize_process_timeout=300,  # N processes warming on a small machine
        load_fnc=call_load(n),
        load_threshold=FULL,
        port=0,
    )
    server.rtc_session(bench_call)
    before = peak = rss_mb()
    running = asyncio.create_task(server.run(unregistered=True))
    while len(list(results.glob("ready-*"))) < n:
        await asyncio.sleep(0.1)
    # Measure calls, not warm-ups: no replacement is warmed while they run (the worker
    # warms at most INTAKE_WORKER__IDLE_PROCESSES at a time). Private, bench only.
    server._num_idle_processes = 0
    server._proc_pool.set_target_idle_processes(0)

    async def launch() -> None:
        for i in range(n):
            await server.simulate_job(f"bench-{i}", fake_job=True)
            await asyncio.sleep(ARRIVAL_WINDOW / n)

    launching = asyncio.create_task(launch())
    while len(list(results.glob("call-*.json"))) < n:
        peak = max(peak, rss_mb())
        await asyncio.sleep(0.05)
    await launching
    with contextlib.suppress(TimeoutError):  # as serve() does: livekit's close can hang
        await asyncio.wait_for(server.aclose(), CLOSE_TIMEOUT)
    running.cancel()
    reports = [json.loads(path.read_text()) for path in results.glob("call-*.json")]
    result = {"added": [a for report in reports for a in report["added"]]}
    if executor == "thread":
        result["mb_per_call"] = (peak - before) / n  # the worker's growth, warm-up included
    else:
        result["rss_mb"] = statistics.mean(r["rss_mb"] for r in reports)
        result["pss_mb"] = statistics.mean(r["pss_mb"] for r in reports)
    return result


def measured(executor: str, n: int) -> dict[str, Any]:
    """One executor measurement in a fresh process of this script."""
    command = [sys.executable, __file__, "--executor", executor, "--sizes", str(n)]
    settings = os.environ | {"INTAKE_LOG_LEVEL": "error"}
    done = subprocess.run(command, capture_output=True, text=True, env=settings, check=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def percentiles(added: list[float]) -> str:
    p50 = statistics.median(added) * 1000
    p95 = statistics.quantiles(added, n=20)[-1] * 1000
    return f"{p50:6.1f} / {p95:5.1f} ms"


async def conversation() -> tuple[list[str], list[str]]:
    """The project's call as words: each question the caller answered, and the answer."""
    lines: list[tuple[str, str]] = []
    await project_call(lambda who, text: lines.append((who, text)))
    questions, answers = [], []
    for (who, text), (next_who, next_text) in itertools.pairwise(lines):
        if who == "agent" and next_who == "caller":
            questions.append(text)
            answers.append(next_text)
    return questions, answers


def against_baseline(sizes: list[int], rounds: int) -> None:
    """This project's calls against a bare AgentSession's, as ratios (targets in the README)."""
    questions, answers = asyncio.run(conversation())

    async def bare() -> Turns:
        return await bare_call(questions, answers)

    asyncio.run(bare())  # warm-up
    print(f"against a bare AgentSession ({len(answers)} turns a call, median of {rounds} rounds)")
    for n in sizes:
        result: Comparison = asyncio.run(compare(n, project_call, bare, rounds))
        ms = {
            m: [1000 * result.median(runs, m) for runs in (result.project, result.baseline)]
            for m in ("wait_p50", "wait_p95", "added_p50", "added_p95", "cpu_per_turn")
        }
        print(
            f"{n:3} calls | latency p50 {result.ratio('wait_p50'):4.2f}x"
            f" ({ms['wait_p50'][0]:.0f} / {ms['wait_p50'][1]:.0f} ms)"
            f" p95 {result.ratio('wait_p95'):4.2f}x"
            f" ({ms['wait_p95'][0]:.0f} / {ms['wait_p95'][1]:.0f} ms)"
            f" | added p50 {ms['added_p50'][0]:.1f} / {ms['added_p50'][1]:.1f} ms"
            f" p95 {ms['added_p95'][0]:.1f} / {ms['added_p95'][1]:.1f} ms"
            f" | CPU per turn {result.ratio('cpu_per_turn'):4.2f}x"
            f" ({ms['cpu_per_turn'][0]:.1f} / {ms['cpu_per_turn'][1]:.1f} ms)"
            f" | memory per call {result.project_mb / result.baseline_mb:4.2f}x"
            f" ({result.project_mb:.2f} / {result.baseline_mb:.2f} MB)",
            flush=True,
        )


def profile(n: int) -> None:
    """N calls in one loop under cProfile: where a call's CPU goes (top functions)."""
    profiler = cProfile.Profile()
    profiler.enable()
    asyncio.run(in_one_loop(n))
    profiler.disable()
    stats = pstats.Stats(profiler).strip_dirs()
    stats.sort_stats("cumulative").print_stats(40)
    stats.sort_stats("tottime").print_stats(25)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 10, 25])
    parser.add_argument("--baseline-sizes", type=int, nargs="*", default=[1, 25])
    parser.add_argument("--rounds", type=int, default=3, help="baseline rounds per size")
    parser.add_argument("--no-executors", action="store_true", help="only the baseline ratios")
    parser.add_argument("--profile", type=int, metavar="N", help="profile N calls and stop")
    parser.add_argument("--executor", choices=["thread", "process"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    configure_logging(Settings(log_level="error"))
    if args.executor:
        print(json.dumps(asyncio.run(through_executor(args.executor, args.sizes[0]))), flush=True)
        os._exit(0)  # as the intake command does: a job thread livekit left can't hold it
    asyncio.run(in_one_loop(1))  # warm-up: imports, caches, first-call costs
    prepare_gc_for_calls()  # as the worker does
    if args.profile:
        profile(args.profile)
        return
    against_baseline(args.baseline_sizes, args.rounds)
    if args.no_executors:
        return
    print("added p50 / p95 per turn; memory per call")
    for n in args.sizes:
        loop = asyncio.run(in_one_loop(n))
        thread = measured("thread", n)
        process = measured("process", n)
        print(
            f"{n:3} calls | one loop {percentiles(loop['added'])} {loop['mb_per_call']:5.1f} MB"
            f" | threads {percentiles(thread['added'])} {thread['mb_per_call']:5.1f} MB"
            f" | processes {percentiles(process['added'])}"
            f" RSS {process['rss_mb']:4.0f} MB PSS {process['pss_mb']:4.0f} MB",
            flush=True,
        )


if __name__ == "__main__":
    main()
