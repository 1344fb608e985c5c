"""What an answer does to its field: read back, recorded, an item filled, or a failure.

The layer of the collector between the questions (``QuestionFlow``) and the inputs
(``Collector``): a parsed value is proposed for a read-back or recorded, a list item is
filled one sub-field at a time, and an unusable answer counts towards the limits, after
which the field is given up (kept items, skipped if optional, or missing and escalated).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from flows.engine import parsers
from flows.engine.answers import AnswerContext, ScalarValue, Value, parse_scalar, parse_value
from flows.engine.questions import SORRY, QuestionFlow
from flows.engine.record import FieldState, PartialAddress, Source
from flows.engine.replies import Ask, Escalate, Reply
from flows.errors import AmbiguousAnswer, AnswerError
from flows.spec.fields import AddressField, FieldSpec, ListField, ScalarField
from flows.spec.flow import FlowSpec, TransferReason


class FieldAnswers(QuestionFlow):
    def __init__(
        self,
        spec: FlowSpec,
        ctx: AnswerContext,
        *,
        call_number: str | None,
        can_escalate: Callable[[TransferReason], bool],
    ) -> None:
        super().__init__(spec, ctx, call_number=call_number)
        self.can_escalate = can_escalate

    def _take_value(
        self,
        field: FieldSpec,
        state: FieldState,
        text: str,
        source: Source,
        fail_note: str | None = None,
    ) -> Reply:
        if isinstance(field, AddressField):
            return self._take_address(field, state, text, source, fail_note)
        try:
            value = parse_value(field, text, self.ctx)
        except AmbiguousAnswer as exc:
            return self._which_one(field, state, exc)
        except AnswerError as exc:
            return self._failed(field, state, fail_note or str(exc))
        return self._propose(field, state, value, source)

    def _take_address(
        self,
        field: AddressField,
        state: FieldState,
        text: str,
        source: Source,
        fail_note: str | None,
    ) -> Reply:
        """An address said in one go, or piece by piece: each answer adds to what was said
        before, and the question asks for the parts still missing."""
        said = f"{state.partial.said}, {text}" if state.partial else text
        try:
            reading = parsers.read_address(said, region=self.ctx.region)
        except AnswerError as exc:
            return self._failed(field, state, fail_note or str(exc))
        if not reading.missing:
            state.partial = None
            return self._propose(field, state, reading.value, source)
        if state.partial and len(reading.missing) >= len(state.partial.missing):
            return self._failed(field, state, fail_note or "expected the rest of the address")
        state.partial, state.failures = PartialAddress(said, reading.missing), 0
        missing = ", ".join(reading.missing)
        return self._advance(f"Part of the address; ask for the {missing}.", repeat=True)

    def _which_one(self, field: FieldSpec, state: FieldState, exc: AmbiguousAnswer) -> Reply:
        """Two options fit equally: ask which one, naming both, instead of guessing."""
        first, second = exc.candidates
        reply = self._failed(field, state, f"it fits both {first} and {second}")
        if not (isinstance(reply, Ask) and reply.question.path == state.path):
            return reply  # the attempts ran out
        question = replace(reply.question, text=f"Sorry, did you mean {first} or {second}?")
        self.pending = question
        return replace(reply, question=question)

    def _propose(self, field: FieldSpec, state: FieldState, value: Value, source: Source) -> Reply:
        if field.confirm:
            state.proposed, state.proposed_source = value, source
            return self._advance("Read the value back and ask the caller to confirm it.")
        self._settle(state, "collected", value, source)
        return self._advance(f"Recorded {field.label}.")

    def _start_item(self, state: FieldState) -> None:
        state.draft, state.draft_index = {}, 0

    def _take_item(self, field: FieldSpec, state: FieldState, text: str, source: Source) -> Reply:
        sub = self._item_field(field, state)
        try:
            value = parse_scalar(sub, text, self.ctx)
        except AnswerError as exc:
            return self._failed(field, state, str(exc))
        state.source = state.source or source
        return self._store_item_value(field, state, value)

    def _store_item_value(self, field: FieldSpec, state: FieldState, value: ScalarValue) -> Reply:
        assert isinstance(field, ListField) and state.draft is not None
        subs = field.item.fields
        state.draft[subs[state.draft_index].id] = value
        state.draft_index += 1
        if state.draft_index < len(subs):
            return self._advance("")
        state.items.append(state.draft)
        state.draft = None
        if len(state.items) >= field.max_items:
            self._settle(state, "collected", list(state.items))
        return self._advance(f"Added one {field.label} item.")

    def _item_field(self, field: FieldSpec, state: FieldState) -> ScalarField:
        assert isinstance(field, ListField)
        return field.item.fields[state.draft_index]

    def _failed(
        self,
        field: FieldSpec,
        state: FieldState,
        reason: str,
        *,
        prefix: str = SORRY,
        failed: bool = True,
    ) -> Reply:
        state.failures += 1
        if state.failures >= self.spec.limits.max_attempts:
            return self._give_up(field, state)
        note = f"That answer could not be used ({reason}); ask again." if failed else reason
        return self._advance(note, prefix=prefix, repeat=True, failed=failed)

    def _give_up(self, field: FieldSpec, state: FieldState) -> Reply:
        if state.items:
            self._settle(state, "collected", list(state.items))
            return self._advance(f"Kept the {field.label} items given so far.")
        if field.optional:
            self._settle(state, "skipped")
            return self._advance(f"Gave up on {field.label}; it is optional.")
        self._settle(state, "missing")
        if self.can_escalate("collection_failed"):
            return Escalate("collection_failed", f"Could not collect {field.label}.")
        return self._advance(f"Could not collect {field.label}; moving on.")
