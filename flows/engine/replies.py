"""What an input does to a call: ask the next question, finish the step, or end the call."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from flows.engine.record import Question
from flows.spec.flow import TransferReason


@dataclass(frozen=True)
class Ask:
    question: Question
    note: str
    failed: bool = False  # the answer could not be used; the question is asked again


@dataclass(frozen=True)
class StepComplete:
    step_id: str
    note: str


@dataclass(frozen=True)
class Escalate:
    reason: TransferReason
    note: str


@dataclass(frozen=True)
class EndCall:
    reason: Literal["declined", "no_input", "collection_failed"]
    note: str


Reply = Ask | StepComplete | Escalate | EndCall
