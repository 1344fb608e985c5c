"""Simulated calls: the real agent, session and tasks in text mode, a scripted caller.

No LiveKit server, network or keys: the job runs under livekit's ``fake_job_context``
with an unconnected ``rtc.Room`` that receives the caller's keypad presses, and the
offline engine stands in for the model. Silence and keypad timeouts are simulated,
never slept.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, cast

from livekit import rtc
from livekit.agents import AgentSession, llm
from livekit.agents.beta.workflows.utils import DtmfEvent, dtmf_event_to_code
from livekit.agents.testing import fake_job_context

from flows.agent.offline import OfflineLLM
from flows.agent.root import IntakeAgent
from flows.engine.call import Call, CallEnding, CallInfo, Clock, utc_now
from flows.engine.ids import new_call_id, short_id
from flows.engine.keypad import KeypadCollector, attach_keypad
from flows.engine.payload import Payload
from flows.engine.record import Question
from flows.engine.replies import WELCOME
from flows.errors import FlowError
from flows.spec.flow import FlowSpec
from flows.testing.scenario import Keyed, Scenario, Silent, SimulatedCaller
from sip.statuses import (
    UNANSWERED,
    WITHOUT_SIP_STATUS,
    DialFailure,
    DialOutcome,
    dial_failure_for_sip_status,
)
from sip.transfer import ScriptedTransferer

MAX_TURNS = 400
TURN_TIMEOUT = 10.0

Transcript = Callable[[str, str], None]  # (speaker, text)


class SimulationError(FlowError):
    """The simulated call stopped making progress (a defect, not a caller's doing)."""


@dataclass(frozen=True)
class SimulationOptions:
    region: str = "US"
    transfer_to: str | None = None
    clock: Clock = utc_now


def call_info(scenario: Scenario) -> CallInfo:
    call_id = new_call_id()
    return CallInfo(
        call_id=call_id,
        direction=scenario.direction,
        from_=scenario.from_,
        to=scenario.to,
        job_id=short_id("AJ_"),
        room_id=short_id("RM_"),
        room=f"call-{call_id.removeprefix('call_').lower()}",
        metadata=dict(scenario.metadata),
    )


class HangUp:
    """The caller hangs up."""


CallerAction = str | Keyed | Silent | HangUp


class Caller(Protocol):
    """Plays the caller: told about the call once, then asked for each action."""

    def attach(self, call: Call) -> None: ...

    async def respond(self, question: Question) -> CallerAction: ...


class ScenarioCaller:
    """A scenario's caller: answer queues, then its interrupt and hang-up moments."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self._answers = SimulatedCaller(scenario)
        self._interrupt: str | None = None
        self._hangup_due = False

    def attach(self, call: Call) -> None:
        call.collector.on_settled.append(lambda state: self._after(state.path))
        call.on_step_completed.append(self._after_step)

    def _after_step(self, step_id: str) -> None:
        if step_id == WELCOME:
            self._after(WELCOME)

    def _after(self, path: str) -> None:
        """A field was recorded (or the welcome answered): the scenario may act next turn."""
        if path in self.scenario.interrupt:
            self._interrupt = self.scenario.interrupt[path]
        if path == self.scenario.hangup_after:
            self._hangup_due = True

    async def respond(self, question: Question) -> CallerAction:
        if self._hangup_due:
            return HangUp()
        if self._interrupt is not None:
            words, self._interrupt = self._interrupt, None
            return words
        return self._answers.reply(question)


async def simulate(
    spec: FlowSpec,
    scenario: Scenario,
    options: SimulationOptions | None = None,
    *,
    transcript: Transcript | None = None,
    info: CallInfo | None = None,
) -> Payload:
    """Run one call of ``spec`` against ``scenario``; returns its payload.

    ``info`` names the call (its id, room, numbers, metadata) when it exists already, as a
    call requested over HTTP does under ``intake serve --simulate``; else one is made up."""
    call = simulated_call(spec, scenario, options, info=info)
    return await play(call, scenario, transcript=transcript)


def simulated_call(
    spec: FlowSpec,
    scenario: Scenario,
    options: SimulationOptions | None = None,
    *,
    info: CallInfo | None = None,
) -> Call:
    """The call a scenario will play, not started yet: whoever records it attaches first."""
    options = options or SimulationOptions()
    behaviour = scenario.transfer
    return Call(
        spec,
        info or call_info(scenario),
        transferer=ScriptedTransferer(outcome=behaviour.outcome if behaviour else "connected"),
        region=options.region,
        transfer_to=(behaviour.to if behaviour else None) or options.transfer_to,
        clock=options.clock,
    )


# What a real dial of each outcome would have reported (sip/statuses.py's table): the SIP
# status and whether dialling again can help. A voicemail is a dial that connected.
SIMULATED_DIAL_FAILURES: dict[DialOutcome, DialFailure] = {
    "busy": dial_failure_for_sip_status(486),
    "no_answer": DialFailure(
        "no_answer",
        WITHOUT_SIP_STATUS["ringing_timeout"].retryable,
        None,
        WITHOUT_SIP_STATUS["ringing_timeout"].reason,
    ),
    "failed": dial_failure_for_sip_status(503),
}


async def play(call: Call, scenario: Scenario, *, transcript: Transcript | None = None) -> Payload:
    """Play ``scenario``'s callee on ``call`` until it ends; returns its payload. An outbound
    call is dialled first: the callee picks up (or a machine does), or the dial fails as a
    real one would, ``call.dial_failure`` included."""
    spec = call.spec
    if call.info.direction == "outbound":
        if scenario.outcome in ("answered", "voicemail"):
            call.answered_by_callee()
        if scenario.outcome != "answered":
            if scenario.outcome == "voicemail" and spec.voicemail_message and transcript:
                transcript("agent", spec.voicemail_message)
            call.dial_failure = SIMULATED_DIAL_FAILURES.get(scenario.outcome)
            status, reason = UNANSWERED[scenario.outcome]
            return call.finish(reason, status=status)
    return await run_call(call, ScenarioCaller(scenario), transcript=transcript)


def text_session(model: llm.LLM[Any]) -> AgentSession[None]:
    """A session with no audio: text in, text out, turns ended by whoever drives it."""
    return AgentSession[None](
        llm=model, vad=None, turn_handling={"turn_detection": "manual"}, user_away_timeout=None
    )


async def run_call(
    call: Call,
    caller: Caller,
    *,
    transcript: Transcript | None = None,
    model: llm.LLM[Any] | None = None,
) -> Payload:
    """Run an answered call in-process until it ends; returns its payload.

    ``model`` defaults to the offline engine; tests pass the OpenAI plugin here."""
    call.answered.set()
    say = transcript or (lambda _speaker, _text: None)
    room = rtc.Room()
    with fake_job_context(room=room, job_id=call.info.job_id) as job:
        keypad = attach_keypad(room, call.keypad, call.keypad_entry_length)
        session = text_session(model or OfflineLLM(call.collector))
        caller.attach(call)
        driver = _Driver(call, session, keypad, room, caller, say)
        try:
            await session.start(IntakeAgent(call))
            await driver.run()
        finally:
            keypad.close()
            await session.aclose()
            # What the worker's job runner does when a job ends (removes the job's temp
            # dir); fake_job_context leaves it to whoever runs the job.
            await job._on_cleanup()
    return call.finish("error")  # the sealed payload; "error" only if the call never ended


class _Driver:
    """Waits for each question to be asked, then performs the caller's action."""

    def __init__(
        self,
        call: Call,
        session: AgentSession[None],
        keypad: KeypadCollector,
        room: rtc.Room,
        caller: Caller,
        say: Transcript,
    ) -> None:
        self.call, self.session, self.keypad, self.room = call, session, keypad, room
        self.caller, self.say = caller, say
        self._changed = asyncio.Event()
        self._spoken_serial = 0
        self._answered_serial = 0
        session.on("agent_state_changed", lambda _ev: self._changed.set())
        session.on("conversation_item_added", self._on_item)
        call.on_finished.append(lambda _payload: self._changed.set())

    def _on_item(self, event: object) -> None:
        item = getattr(event, "item", None)
        role, text = getattr(item, "role", None), getattr(item, "text_content", None)
        if role == "assistant" and text:
            self.say("agent", text)
            pending = self.call.collector.pending
            if pending is not None:
                self._spoken_serial = pending.serial
        self._changed.set()

    async def run(self) -> None:
        for _ in range(MAX_TURNS):
            await self._wait_for_question()
            if self.call.ended:
                return
            question = self.call.collector.pending
            assert question is not None
            self._answered_serial = question.serial
            await self._perform(await self.caller.respond(question))
        raise SimulationError(f"the call did not end within {MAX_TURNS} turns")

    async def _wait_for_question(self) -> None:
        async def ready() -> None:
            while not self._ready():
                self._changed.clear()
                await self._changed.wait()

        try:
            await asyncio.wait_for(ready(), TURN_TIMEOUT)
        except TimeoutError:
            raise SimulationError("the agent stopped asking questions") from None

    def _ready(self) -> bool:
        if self.call.ended:
            return True
        pending = self.call.collector.pending
        return (
            pending is not None
            and pending.serial == self._spoken_serial
            and pending.serial > self._answered_serial
            and self.session.agent_state == "listening"
            and self.call.active is not None
            and self.session.current_agent is cast(object, self.call.active)
        )

    async def _perform(self, action: CallerAction) -> None:
        if isinstance(action, HangUp):
            self.say("caller", "(hangs up)")
            self.call.hangup()
        elif isinstance(action, str):
            self.say("caller", action)
            # a turn that ends the call surfaces its CallEnding; the root agent handles it
            with contextlib.suppress(CallEnding):
                await self.session.run(user_input=action)
        elif isinstance(action, Keyed):
            self.say("caller", f"(keys {action.dtmf})")
            for key in action.dtmf:
                code = dtmf_event_to_code(DtmfEvent(key))
                self.room.emit("sip_dtmf_received", rtc.SipDTMF(code=code, digit=key))
            self.keypad.flush()  # the inter-digit timeout, simulated
        else:
            self.say("caller", "(silence)")
            self.call.silence()
