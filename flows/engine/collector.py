"""The collection state machine of one call: which question is pending, what an answer does.

Pure and synchronous: no livekit here. The compiled tasks, the keypad and the offline
engine all feed answers in through the same few methods and act on the ``Reply``.
Limits (keypad after N failed attempts, give up after M, end after K silent re-prompts)
and ``when`` conditions are applied here, once.
"""

from __future__ import annotations

from collections.abc import Callable

from flows.engine import parsers
from flows.engine.answers import AnswerContext, parse_value
from flows.engine.field_answers import FieldAnswers
from flows.engine.intents import declines_now
from flows.engine.keypad import YES_KEY, keypad_text
from flows.engine.questions import AGAIN, CALL_BACK, SORRY, STILL_THERE, with_prefix
from flows.engine.record import WELCOME, FieldState, Question, Source
from flows.engine.replies import Ask, EndCall, Reply, StepComplete
from flows.errors import AnswerError
from flows.spec.fields import KEYPAD_TYPES, FieldSpec, ListField
from flows.spec.flow import FlowSpec, TransferReason
from flows.spec.paths import FieldPath


class Collector(FieldAnswers):
    """Answers in, replies out; the question machinery lives in ``QuestionFlow``, what an
    answer does to its field in ``FieldAnswers``."""

    def __init__(
        self,
        spec: FlowSpec,
        ctx: AnswerContext,
        *,
        call_number: str | None = None,
        can_escalate: Callable[[TransferReason], bool] = lambda _reason: False,
    ) -> None:
        super().__init__(spec, ctx, call_number=call_number, can_escalate=can_escalate)
        self._silences = 0
        self._welcome_failures = 0

    # -- where the call is -------------------------------------------------------------

    def begin_welcome(self) -> Ask:
        question = self.spec.welcome.question or ""
        return self._ask(Question(kind="welcome", target=None, text=question), "")

    def enter_step(self, step_id: str) -> Reply:
        self.step = next(step for step in self.spec.steps if step.id == step_id)
        return self._advance("")

    def reopen(self, path: str) -> str:
        """Forget a field's answer (a correction); returns the step to go back to."""
        self.fields[path].reopen()
        self._offered.discard(path)
        return FieldPath.parse(path).step

    def visited_fields(self) -> list[str]:
        """Fields the caller may correct: those settled or already asked."""
        return [p for p, s in self.fields.items() if s.settled or s.attempts or s.proposed]

    # -- inputs ------------------------------------------------------------------------

    def answer(self, text: str, source: Source = "voice") -> Reply:
        """What the caller said (or keyed, translated) in reply to the pending question."""
        question = self._require_pending()
        self._silences = 0
        if question.kind == "welcome":
            return self._answer_welcome(text)
        field, state = self._field(question.field_path)
        if question.kind == "confirm":
            return self._answer_confirm(field, state, text, source)
        if question.kind == "offer":
            return self._answer_offer(field, state, text, source)
        if question.kind == "more":
            return self._answer_more(field, state, text)
        if question.kind == "item":
            return self._take_item(field, state, text, source)
        return self._take_value(field, state, text, source)

    def record(self, target: FieldPath, text: str, source: Source = "voice") -> Reply:
        """A value for a named field of this step, asked for or volunteered."""
        question = self._require_pending()
        asked = question.target
        if asked == target or (asked and asked.of_field == target and not question.yes_no):
            return self.answer(text, source)
        self._silences = 0
        field_path = str(target.of_field)
        if self.step is None or target.step != self.step.id:
            raise AnswerError(f"{target} is not a field of this step")
        field, state = self._field(field_path)
        if question.field_path == field_path and question.kind in ("confirm", "offer"):
            state.proposed = None  # a fresh value replaces the one being read back
            return self._take_value(field, state, text, source)
        if target.sub and question.kind == "more" and question.field_path == field_path:
            self._start_item(state)  # naming an item answers "any more?" with yes
            return self._take_item(field, state, text, source)
        if target.sub or (isinstance(field, ListField) and field.item.type == "object"):
            raise AnswerError(f"ask for {target} when the flow reaches it")
        if state.settled:
            self.reopen(field_path)
        return self._take_value(field, state, text, source)

    def keypad(self, digits: str) -> Reply:
        question = self._require_pending()
        self._silences = 0
        if question.yes_no:
            if question.kind == "offer" and len(digits) > 1:
                field, state = self._field(question.field_path)
                return self._take_value(field, state, digits, "dtmf")
            text = {YES_KEY: "yes", "2": "no"}.get(digits, "")
            return self.answer(text, "dtmf")
        field, state = self._field(question.field_path)
        target = self._item_field(field, state) if question.kind == "item" else field
        as_words = keypad_text(target, digits) if target.type in KEYPAD_TYPES else None
        if as_words is None:
            return self._failed(field, state, "those keys do not answer this question")
        if question.kind == "item":
            return self._take_item(field, state, as_words, "dtmf")
        return self._take_value(field, state, as_words, "dtmf")

    def skip(self) -> Reply:
        """The caller won't or can't answer: fine for optional questions, a failure otherwise."""
        question = self._require_pending()
        self._silences = 0
        if question.kind == "more":
            field, state = self._field(question.field_path)
            return self._answer_more(field, state, "no")
        if question.kind in ("value", "item"):
            field, state = self._field(question.field_path)
            target = self._item_field(field, state) if question.kind == "item" else field
            if target.optional and question.kind == "item":
                return self._store_item_value(field, state, None)
            if target.optional:
                self._settle(state, "skipped")
                return self._advance("Skipped; it is optional.")
        field_path = question.field_path
        if field_path is None:
            return self._advance("That question needs an answer.", prefix=SORRY, repeat=True)
        field, state = self._field(field_path)
        return self._failed(field, state, "this question is required")

    def no_one_available(self) -> Reply:
        """The caller asked for a person and no one can take the call: promise a call back
        and ask again. It counts as an unusable answer, so a caller who only ever asks for
        a person reaches the attempt limit instead of looping."""
        question = self._require_pending()
        self._silences = 0
        note = "No one can take the call now; someone will call back."
        if question.field_path is None:
            return self._welcome_failed(note, prefix=CALL_BACK, failed=False)
        field, state = self._field(question.field_path)
        return self._failed(field, state, note, prefix=CALL_BACK, failed=False)

    def silence(self) -> Reply:
        """The caller said nothing: re-prompt, or end the call once re-prompts run out."""
        self._silences += 1
        if self._silences > self.spec.limits.no_input_reprompts:
            skipped = self._skip_silent_optional()
            if skipped is not None:
                return skipped
            return EndCall("no_input", "The caller stopped responding.")
        if self.pending is None:
            return self._advance("", prefix=STILL_THERE, repeat=True)
        return self._ask(
            with_prefix(self.pending, STILL_THERE), "No answer; prompt again.", count=True
        )

    def _skip_silent_optional(self) -> Reply | None:
        """After the re-prompts run out, an optional question (a value or an item's
        sub-field, never a read-back) is skipped and the flow goes on."""
        question = self.pending
        if question is None or question.kind not in ("value", "item"):
            return None
        field, state = self._field(question.field_path)
        target = self._item_field(field, state) if question.kind == "item" else field
        if not target.optional:
            return None
        self._silences = 0
        return self.skip()

    # -- answers by question kind ------------------------------------------------------

    def _answer_welcome(self, text: str) -> Reply:
        declined = declines_now(text)
        try:
            agreed = not declined if declined is not None else parsers.parse_yes_no(text)
        except AnswerError:
            return self._welcome_failed("Not a yes or no.")
        self.pending = None
        if not agreed:
            return EndCall("declined", "The caller declined.")
        return StepComplete(WELCOME, "The caller agreed.")

    def _welcome_failed(self, note: str, *, prefix: str = SORRY, failed: bool = True) -> Reply:
        self._welcome_failures += 1
        if self._welcome_failures >= self.spec.limits.max_attempts:
            return EndCall("collection_failed", "No clear answer to the welcome question.")
        return self._ask(with_prefix(self._require_pending(), prefix), note, failed=failed)

    def _answer_confirm(
        self, field: FieldSpec, state: FieldState, text: str, source: Source
    ) -> Reply:
        try:
            correct = parsers.parse_yes_no(text)
        except AnswerError:
            # "it's March sixth" in reply to a read-back is a corrected value
            return self._take_value(field, state, text, source, fail_note=_READBACK_UNCLEAR)
        if correct:
            self._settle(state, "collected", state.proposed, state.proposed_source, confirmed=True)
            return self._advance(f"Confirmed {field.label}.")
        state.proposed = None
        state.failures += 1
        correction = _after_no(text)
        if correction:
            try:
                return self._propose(field, state, parse_value(field, correction, self.ctx), source)
            except AnswerError:
                pass
        if state.failures >= self.spec.limits.max_attempts:
            return self._give_up(field, state)
        return self._advance("The caller said the read-back was wrong; ask again.", prefix=AGAIN)

    def _answer_offer(
        self, field: FieldSpec, state: FieldState, text: str, source: Source
    ) -> Reply:
        try:
            accepted = parsers.parse_yes_no(text)
        except AnswerError:
            return self._take_value(field, state, text, source)
        if accepted and self.call_number:
            self._settle(state, "collected", self.call_number, "caller_id", confirmed=True)
            return self._advance(f"Recorded {field.label}: the number of this call.")
        correction = _after_no(text)
        if correction:  # "no, use 415 555 0199"; "no, use my cell" just means no
            try:
                return self._propose(field, state, parse_value(field, correction, self.ctx), source)
            except AnswerError:
                pass
        return self._advance("Ask for the number instead.")

    def _answer_more(self, field: FieldSpec, state: FieldState, text: str) -> Reply:
        more: bool | None
        if parsers.is_none_answer(text):
            more = False
        else:
            try:
                more = parsers.parse_yes_no(text)
            except AnswerError:
                more = None
        if more is None:
            return self._failed(field, state, "expected yes or no")
        if not more:
            self._settle(state, "collected", list(state.items))
            return self._advance(f"Recorded {field.label}.")
        self._start_item(state)
        return self._advance("")


_READBACK_UNCLEAR = "expected yes or no to the read-back, or a corrected value"
_NO_WORDS = ("no", "nope", "nah", "not", "wrong", "incorrect", "actually", "it's", "it is")


def _after_no(text: str) -> str:
    """'no, it's March sixth' -> 'March sixth': the correction that follows a refusal."""
    words = text.replace(",", " ").split()
    while words and words[0].lower().strip(".!") in _NO_WORDS:
        words.pop(0)
    return " ".join(words)
