"""Who is on the other end of a simulated call: scripted callers and a scripted human.

``SimulatedCaller`` answers each question from a scenario path's queue: next entry each
time, the last one repeating, silence when a path has none. ``ScenarioCaller`` adds the
scenario's interruptions and hang-up; ``ScriptedTransferer`` plays the human a transfer
reaches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from flows.engine.call import Call
from flows.engine.outcomes import TransferOutcome
from flows.engine.ports import TransferRequest
from flows.engine.record import WELCOME, Question
from flows.testing.scenario import Keyed, Scenario, Silent


@dataclass
class SimulatedCaller:
    """Answers questions from a scenario's queues."""

    scenario: Scenario

    def __post_init__(self) -> None:
        self._taken: dict[tuple[str, str], int] = {}

    def reply(self, question: Question) -> str | Keyed | Silent:
        if question.kind == "confirm":
            return self._next("confirm", question.path, self.scenario.confirm, default="yes")
        return self._next("answers", question.path, self.scenario.answers, default=None)

    def _next(
        self,
        book: str,
        path: str,
        queues: dict[str, list[str | Keyed | Silent]],
        default: str | None,
    ) -> str | Keyed | Silent:
        queue = queues.get(path)
        if not queue:
            return default if default is not None else Silent(silence=True)
        taken = self._taken.get((book, path), 0)
        self._taken[(book, path)] = taken + 1
        return queue[min(taken, len(queue) - 1)]


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


@dataclass
class ScriptedTransferer:
    """Answers every transfer with a fixed outcome, and remembers what it was asked."""

    outcome: TransferOutcome = "connected"
    keeps_room: bool = True
    requests: list[TransferRequest] = field(default_factory=list)

    async def transfer(self, request: TransferRequest) -> TransferOutcome:
        self.requests.append(request)
        return self.outcome
