"""Which question a call is waiting on, and how it is worded.

The base of the collector: it walks the current step's fields in order (skipping those
whose ``when`` does not hold), picks the question each field needs next (a read-back,
"any more?", an item's sub-field, the offer of the call's number, the value itself or
its keypad prompt), numbers it, and counts the attempts it costs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Literal

from flows.engine.answers import AnswerContext, Value, speak_value
from flows.engine.keypad import keypad_prompt
from flows.engine.record import WELCOME, FieldState, Question, Source, when_holds
from flows.engine.replies import Ask, Reply, StepComplete
from flows.errors import AnswerError
from flows.spec.fields import KEYPAD_TYPES, AddressField, FieldSpec, ListField, PhoneField
from flows.spec.flow import FlowSpec, StepSpec
from flows.spec.paths import FieldPath

SORRY = "Sorry, I didn't catch that."
AGAIN = "Let's try that again."
STILL_THERE = "Are you still there?"
CALL_BACK = "No one can take the call right now, but someone from our team will call you back."


class QuestionFlow:
    def __init__(self, spec: FlowSpec, ctx: AnswerContext, *, call_number: str | None) -> None:
        self.spec = spec
        self.ctx = ctx
        self.call_number = call_number
        self.fields = {path: FieldState(path) for path in spec.field_paths()}
        self.pending: Question | None = None
        self.step: StepSpec | None = None
        self.on_settled: list[Callable[[FieldState], None]] = []
        self._serial = 0
        self._offered: set[str] = set()

    def _advance(
        self, note: str, *, prefix: str = "", repeat: bool = False, failed: bool = False
    ) -> Reply:
        question = self._next_question()
        if question is None:
            self.pending = None
            step_id = self.step.id if self.step else WELCOME
            return StepComplete(step_id, note)
        if prefix:
            question = with_prefix(question, prefix)
        current = self.pending
        same = current is not None and (current.kind, current.target) == (
            question.kind,
            question.target,
        )
        return self._ask(question, note, count=repeat or not same, failed=failed)

    def _ask(
        self, question: Question, note: str, *, count: bool = True, failed: bool = False
    ) -> Ask:
        self._serial += 1
        question = replace(question, serial=self._serial)
        if count and question.kind != "confirm" and question.field_path is not None:
            self.fields[question.field_path].attempts += 1
        self.pending = question
        return Ask(question, note, failed)

    def _next_question(self) -> Question | None:
        if self.step is None:
            return None
        for field in self.step.fields:
            path = FieldPath(self.step.id, field.id)
            state = self.fields[str(path)]
            if not self._condition_holds(self.step, field):
                if not state.skipped_by_condition:
                    state.reopen()
                    self._settle(state, "skipped", by_condition=True)
                continue
            if state.skipped_by_condition:
                state.reopen()
            if not state.settled:
                return self._question_for(path, field, state)
        return None

    def _condition_holds(self, step: StepSpec, field: FieldSpec) -> bool:
        return when_holds(self.spec, step, field, self.fields)

    def _question_for(self, path: FieldPath, field: FieldSpec, state: FieldState) -> Question:
        if state.proposed is not None:
            text = f"I have {speak_value(field, state.proposed)}. Is that right?"
            return Question(kind="confirm", target=path, text=text)
        if isinstance(field, ListField) and field.item.type == "object":
            if state.draft is None:
                text = field.question
                if state.items:
                    text = field.more_prompt or f"Any other {field.label}?"
                return Question(kind="more", target=path.item_list(), text=text)
            sub = field.item.fields[state.draft_index]
            return Question(kind="item", target=path.item_field(sub.id), text=sub.question)
        if (
            isinstance(field, PhoneField)
            and field.offer_call_number
            and self.call_number
            and str(path) not in self._offered
        ):
            self._offered.add(str(path))
            return Question(kind="offer", target=path, text=field.offer_prompt)
        if isinstance(field, AddressField) and state.partial and not state.failures:
            missing = " and ".join(state.partial.missing)
            text = f"Thank you. And the {missing}?"
            return Question(kind="value", target=path, text=text)
        keypad = (
            field.type in KEYPAD_TYPES
            and state.failures >= self.spec.limits.spoken_attempts_before_keypad
        )
        text = keypad_prompt(field) if keypad else field.question
        return Question(kind="value", target=path, text=text, keypad=keypad)

    def _require_pending(self) -> Question:
        if self.pending is None:
            raise AnswerError("no question is waiting for an answer")
        return self.pending

    def _field(self, path: str | None) -> tuple[FieldSpec, FieldState]:
        assert path is not None
        return self.spec.field(path), self.fields[path]

    def _settle(
        self,
        state: FieldState,
        status: Literal["collected", "skipped", "missing"],
        value: Value = None,
        source: Source | None = None,
        *,
        confirmed: bool = False,
        by_condition: bool = False,
    ) -> None:
        state.status = status
        state.value = value
        state.source = source if status == "collected" else None
        state.confirmed = confirmed
        state.skipped_by_condition = by_condition
        state.proposed = state.proposed_source = None
        state.draft = None
        for listener in list(self.on_settled):
            listener(state)


def with_prefix(question: Question, prefix: str) -> Question:
    base = question.text
    for known in (SORRY, AGAIN, STILL_THERE, CALL_BACK):
        base = base.removeprefix(known + " ")
    return replace(question, text=f"{prefix} {base}".strip())
