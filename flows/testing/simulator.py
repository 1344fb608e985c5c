"""Simulated calls: the real agent, session and tasks in text mode, a scripted caller.

The call runs in the one harness (``flows.testing.harness``) with the offline engine
standing in for the model. Silence and keypad timeouts are simulated, never slept.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from livekit.agents import llm

from flows.engine.call import Call, CallEnding, CallInfo
from flows.engine.clock import Clock, utc_now
from flows.engine.ids import new_call_id, short_id
from flows.engine.outcomes import UNANSWERED, DialFailure, DialOutcome
from flows.engine.payload import Payload
from flows.errors import FlowError
from flows.spec.flow import FlowSpec
from flows.testing.callers import Caller, CallerAction, HangUp, ScenarioCaller, ScriptedTransferer
from flows.testing.harness import OfflineCall, offline_call
from flows.testing.scenario import Keyed, Scenario

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


async def play(
    call: Call,
    scenario: Scenario,
    *,
    transcript: Transcript | None = None,
    dial_failures: Mapping[DialOutcome, DialFailure] | None = None,
) -> Payload:
    """Play ``scenario``'s callee on ``call`` until it ends; returns its payload. An outbound
    call is dialled first: the callee picks up (or a machine does), or the dial fails;
    ``dial_failures`` says what a real dial would have reported for ``call.dial_failure``
    (``sip.statuses.SIMULATED_DIAL_FAILURES``)."""
    spec = call.spec
    if call.info.direction == "outbound":
        if scenario.outcome in ("answered", "voicemail"):
            call.answered_by_callee()
        if scenario.outcome != "answered":
            if scenario.outcome == "voicemail" and spec.voicemail_message and transcript:
                transcript("agent", spec.voicemail_message)
            call.dial_failure = (dial_failures or {}).get(scenario.outcome)
            status, reason = UNANSWERED[scenario.outcome]
            return call.finish(reason, status=status)
    return await run_call(call, ScenarioCaller(scenario), transcript=transcript)


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
    async with offline_call(call, model=model) as running:
        caller.attach(call)
        driver = _Driver(running, caller, say)
        await running.start()
        await driver.run()
    return call.finish("error")  # the sealed payload; "error" only if the call never ended


class _Driver:
    """Waits for each question to be asked, then performs the caller's action."""

    def __init__(self, running: OfflineCall, caller: Caller, say: Transcript) -> None:
        self.running, self.call, self.session = running, running.call, running.session
        self.caller, self.say = caller, say
        self._changed = asyncio.Event()
        self._spoken_serial = 0
        self._answered_serial = 0
        self.session.on("agent_state_changed", lambda _ev: self._changed.set())
        self.session.on("conversation_item_added", self._on_item)
        self.call.on_finished.append(lambda _payload: self._changed.set())

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
            self.running.press(action.dtmf)  # the inter-digit timeout, simulated
        else:
            self.say("caller", "(silence)")
            self.call.silence()
