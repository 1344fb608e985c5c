"""The baseline of bench/concurrent_calls.py: a bare livekit-agents AgentSession in text mode.

One ``Agent`` with one function tool, driven by the same scripted model as the project's
calls (a tool call per caller turn, the first chunk ``LLM`` seconds after the request) and
the same paced caller (``TTS + STT`` seconds after each question). The tool records the
answer and says the next question itself, so a turn is one model request, as in the
project. What the project's calls cost beyond this is its own: tasks per step, the
collector, parsers, intents, keypad, the fake job.

``compare`` runs both in the same process, alternating, and returns project / baseline
ratios of per-turn latency, CPU per turn and memory per call.
"""

from __future__ import annotations

import asyncio
import gc
import json
import statistics
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from livekit.agents import Agent, AgentSession, llm
from livekit.agents.llm import ChatChunk, ChoiceDelta, FunctionToolCall, function_tool
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS, APIConnectOptions

STT, LLM, TTS = 0.200, 0.300, 0.200
ARRIVAL_WINDOW = 2.0  # seconds over which the N calls start


@dataclass
class Turns:
    """One call's turns: when the caller's words reached the session, when the agent
    replied, and when each model request was made."""

    sent: list[float] = field(default_factory=list)
    replies: list[float] = field(default_factory=list)
    requests: list[float] = field(default_factory=list)

    def waits(self) -> list[tuple[float, float]]:
        """(caller's wait, wait minus the scripted model time) per answered turn."""
        out = []
        for sent in self.sent:
            reply = next((r for r in self.replies if r > sent), None)
            if reply is None:
                continue
            model_time = LLM * sum(1 for r in self.requests if sent <= r < reply)
            out.append((reply - sent, max(0.0, reply - sent - model_time)))
        return out


class Delayed:
    """Wraps an LLMStream: the first chunk comes LLM seconds after the request."""

    def __init__(self, stream: llm.LLMStream) -> None:
        self._stream = stream

    async def __aenter__(self) -> Delayed:
        await self._stream.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stream.__aexit__(*exc)

    def __aiter__(self) -> Delayed:
        self._first = True
        return self

    async def __anext__(self) -> Any:
        if self._first:
            self._first = False
            await asyncio.sleep(LLM)
        return await self._stream.__anext__()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class ScriptedModel(llm.LLM):
    """Answers every caller turn with one call of ``record_answer``, after LLM seconds."""

    def __init__(self, requests: list[float]) -> None:
        super().__init__()
        self._requests = requests

    def chat(
        self,
        *,
        chat_ctx: llm.ChatContext,
        tools: list[llm.Tool] | None = None,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
        **_: Any,
    ) -> Any:
        self._requests.append(time.perf_counter())
        stream = _ToolCallStream(
            self, chat_ctx=chat_ctx, tools=tools or [], conn_options=conn_options
        )
        return Delayed(stream)


class _ToolCallStream(llm.LLMStream):
    async def _run(self) -> None:
        last = self.chat_ctx.items[-1] if self.chat_ctx.items else None
        if isinstance(last, llm.ChatMessage) and last.role == "user":
            arguments = json.dumps({"value": last.text_content or ""})
            call = FunctionToolCall(name="record_answer", arguments=arguments, call_id="c")
            delta = ChoiceDelta(role="assistant", tool_calls=[call])
            self._event_ch.send_nowait(ChatChunk(id="c", delta=delta))


class BareAgent(Agent):
    def __init__(self, questions: list[str]) -> None:
        super().__init__(instructions="Ask the caller each question and record each answer.")
        self.questions = questions
        self.answers: list[str] = []

    async def on_enter(self) -> None:
        self.session.say(self.questions[0])

    @function_tool
    async def record_answer(self, value: str) -> None:
        """Record the caller's answer to the question just asked.

        Args:
            value: what the caller said
        """
        self.answers.append(value)
        if len(self.answers) < len(self.questions):
            self.session.say(self.questions[len(self.answers)])
        else:
            self.session.say("Thank you, that's everything. Goodbye.")  # as the flow ends


async def bare_call(questions: list[str], answers: list[str]) -> Turns:
    """One call: the agent asks each question, the paced caller answers it."""
    turns = Turns()
    session = AgentSession[None](
        llm=ScriptedModel(turns.requests),
        vad=None,
        turn_handling={"turn_detection": "manual"},
        user_away_timeout=None,
    )
    changed = asyncio.Event()

    def on_item(event: Any) -> None:
        item = event.item
        if getattr(item, "role", None) == "assistant" and getattr(item, "text_content", None):
            turns.replies.append(time.perf_counter())
        changed.set()

    session.on("conversation_item_added", on_item)
    session.on("agent_state_changed", lambda _event: changed.set())
    agent = BareAgent(questions)
    await session.start(agent)
    try:
        for asked, answer in enumerate(answers, start=1):
            while len(turns.replies) < asked or session.agent_state != "listening":
                changed.clear()
                await changed.wait()
            await asyncio.sleep(TTS + STT)
            turns.sent.append(time.perf_counter())
            await session.run(user_input=answer)
        assert agent.answers == answers, agent.answers
    finally:
        await session.aclose()
    return turns


# -- the comparison --------------------------------------------------------------------

OneCall = Callable[[], Awaitable[Turns]]


@dataclass(frozen=True)
class Run:
    wait_p50: float
    wait_p95: float
    added_p50: float
    added_p95: float
    cpu_per_turn: float


async def run_calls(n: int, one_call: OneCall) -> Run:
    """N calls arriving over ARRIVAL_WINDOW, in this loop; CPU is this process's."""

    async def later(delay: float) -> Turns:
        await asyncio.sleep(delay)
        return await one_call()

    gc.collect()
    cpu = time.process_time()
    calls = await asyncio.gather(*(later(ARRIVAL_WINDOW * i / n) for i in range(n)))
    cpu = time.process_time() - cpu
    waits = [w for turns in calls for w in turns.waits()]
    total, added = [w for w, _ in waits], [a for _, a in waits]
    return Run(
        wait_p50=statistics.median(total),
        wait_p95=statistics.quantiles(total, n=20)[-1],
        added_p50=statistics.median(added),
        added_p95=statistics.quantiles(added, n=20)[-1],
        cpu_per_turn=cpu / len(waits),
    )


async def memory_per_call(n: int, one_call: OneCall) -> float:
    """Peak Python heap growth (tracemalloc) while N calls run, per call, in MB."""
    gc.collect()
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        await asyncio.gather(*(one_call() for _ in range(n)))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return (peak - start) / n / (1024 * 1024)


@dataclass(frozen=True)
class Comparison:
    project: list[Run]
    baseline: list[Run]
    project_mb: float
    baseline_mb: float

    def ratio(self, measure: str) -> float:
        """The median over rounds of project / baseline (rounds ran back to back)."""
        return statistics.median(
            getattr(p, measure) / getattr(b, measure)
            for p, b in zip(self.project, self.baseline, strict=True)
        )

    def median(self, runs: list[Run], measure: str) -> float:
        return statistics.median(getattr(r, measure) for r in runs)


async def compare(n: int, project: OneCall, baseline: OneCall, rounds: int = 3) -> Comparison:
    """Both kinds of call, alternating which goes first, ``rounds`` times; then memory."""
    mine: list[Run] = []
    bare: list[Run] = []
    for round_ in range(rounds):
        if round_ % 2:
            bare.append(await run_calls(n, baseline))
            mine.append(await run_calls(n, project))
        else:
            mine.append(await run_calls(n, project))
            bare.append(await run_calls(n, baseline))
    return Comparison(
        project=mine,
        baseline=bare,
        project_mb=await memory_per_call(n, project),
        baseline_mb=await memory_per_call(n, baseline),
    )
