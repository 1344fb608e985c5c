"""The collection state machine, driven directly: no session, no model."""

from __future__ import annotations

from flows.engine.answers import AnswerContext
from flows.engine.collector import Collector
from flows.engine.replies import Ask, EndCall, Escalate, StepComplete
from flows.spec.flow import FlowSpec
from flows.spec.paths import FieldPath


def asked(reply: object) -> str:
    assert isinstance(reply, Ask), reply
    return reply.question.path


def test_a_step_asks_each_field_then_completes(feedback: FlowSpec, ctx: AnswerContext) -> None:
    c = Collector(feedback, ctx)
    assert asked(c.enter_step("customer_identification")) == (
        "customer_identification.customer_full_name"
    )
    assert asked(c.answer("my name is john doe")) == "customer_identification.service_order_number"
    done = c.answer("three three four")
    assert isinstance(done, StepComplete) and done.step_id == "customer_identification"
    name = c.fields["customer_identification.customer_full_name"]
    assert (name.status, name.value, name.source, name.attempts) == (
        "collected",
        "John Doe",
        "voice",
        1,
    )


def test_keypad_after_two_failures_and_give_up_after_four(
    feedback: FlowSpec, ctx: AnswerContext
) -> None:
    c = Collector(feedback, ctx)
    c.enter_step("customer_identification")
    c.answer("john doe")
    first = c.answer("no idea")
    assert isinstance(first, Ask) and first.failed and not first.question.keypad
    second = c.answer("hmm")
    assert isinstance(second, Ask) and second.question.keypad
    assert "keypad" in second.question.text
    c.answer("still nothing")
    given_up = c.answer("nope")
    assert isinstance(given_up, StepComplete)  # no transfer configured: missing, move on
    state = c.fields["customer_identification.service_order_number"]
    assert (state.status, state.attempts, state.failures) == ("missing", 4, 4)


def test_giving_up_escalates_when_a_transfer_is_possible(
    feedback: FlowSpec, ctx: AnswerContext
) -> None:
    c = Collector(feedback, ctx, can_escalate=lambda reason: reason == "collection_failed")
    c.enter_step("satisfaction")
    for words in ("banana", "nine", "twelve"):
        assert isinstance(c.answer(words), Ask)
    reply = c.answer("seven")
    assert isinstance(reply, Escalate) and reply.reason == "collection_failed"


def test_keypad_entries_any_time_and_menus(feedback: FlowSpec, ctx: AnswerContext) -> None:
    c = Collector(feedback, ctx)
    c.enter_step("service_type")
    assert isinstance(c.keypad("3"), StepComplete)
    state = c.fields["service_type.service_type"]
    assert (state.value, state.source) == ("hvac", "dtmf")
    c.enter_step("resolution")
    assert asked(c.keypad("2")) == "resolution.follow_up_needed"  # 2 = no: follow-up asked
    assert isinstance(c.keypad("9"), Ask)  # not a menu key: re-asked


def test_silence_reprompts_then_ends(feedback: FlowSpec, ctx: AnswerContext) -> None:
    c = Collector(feedback, ctx)
    c.enter_step("satisfaction")
    first, second = c.silence(), c.silence()
    assert isinstance(first, Ask) and first.question.text.startswith("Are you still there?")
    assert isinstance(second, Ask)
    ended = c.silence()
    assert isinstance(ended, EndCall) and ended.reason == "no_input"
    assert c.fields["satisfaction.rating"].attempts == 3


def test_an_answer_resets_the_silence_count(feedback: FlowSpec, ctx: AnswerContext) -> None:
    c = Collector(feedback, ctx)
    c.enter_step("customer_identification")
    c.silence()
    c.silence()
    c.answer("john doe")
    assert isinstance(c.silence(), Ask)


def test_welcome_no_declines(feedback: FlowSpec, ctx: AnswerContext) -> None:
    c = Collector(feedback, ctx)
    c.begin_welcome()
    assert isinstance(c.answer("who is this?"), Ask)
    ended = c.answer("no thanks")
    assert isinstance(ended, EndCall) and ended.reason == "declined"


def test_confirmation_refused_then_corrected_in_one_breath(
    intake: FlowSpec, ctx: AnswerContext
) -> None:
    c = Collector(intake, ctx)
    c.enter_step("patient")
    c.answer("jane doe")
    reply = c.answer("march fifth nineteen eighty")
    assert isinstance(reply, Ask) and reply.question.kind == "confirm"
    assert "nineteen eighty" in reply.question.text
    again = c.answer("no, it's march sixth nineteen eighty")
    assert isinstance(again, Ask) and again.question.kind == "confirm"
    assert isinstance(c.answer("yes"), StepComplete)
    state = c.fields["patient.date_of_birth"]
    assert (state.value, state.confirmed, state.failures) == ("1980-03-06", True, 1)


def test_birth_date_in_the_future_is_re_asked(intake: FlowSpec, ctx: AnswerContext) -> None:
    c = Collector(intake, ctx)
    c.enter_step("patient")
    c.answer("jane doe")
    reply = c.answer("january first twenty thirty")
    assert isinstance(reply, Ask) and reply.failed and reply.question.kind == "value"


def test_offer_of_the_call_number(intake: FlowSpec, ctx: AnswerContext) -> None:
    c = Collector(intake, ctx, call_number="+14155550123")
    reply = c.enter_step("contact")
    assert isinstance(reply, Ask) and reply.question.kind == "offer"
    assert asked(c.answer("yes")) == "contact.email"
    phone = c.fields["contact.phone"]
    assert (phone.value, phone.source, phone.confirmed) == ("+14155550123", "caller_id", True)


def test_offer_declined_then_number_keyed(intake: FlowSpec, ctx: AnswerContext) -> None:
    c = Collector(intake, ctx, call_number="+14155550123")
    c.enter_step("contact")
    reply = c.answer("no")
    assert isinstance(reply, Ask) and reply.question.kind == "value"
    confirm = c.keypad("4155550199")
    assert isinstance(confirm, Ask) and confirm.question.kind == "confirm"
    assert "four one five" in confirm.question.text
    c.answer("yes")
    assert c.fields["contact.phone"].source == "dtmf"


def test_list_of_objects_item_by_item(intake: FlowSpec, ctx: AnswerContext) -> None:
    c = Collector(intake, ctx)
    assert asked(c.enter_step("medications")) == "medications.medications[]"
    assert asked(c.answer("yes")) == "medications.medications[].name"
    assert asked(c.answer("lisinopril")) == "medications.medications[].dosage"
    assert asked(c.skip()) == "medications.medications[]"
    assert isinstance(c.answer("no"), StepComplete)
    state = c.fields["medications.medications"]
    assert state.value == [{"name": "lisinopril", "dosage": None}]
    assert state.attempts == 4


def test_conditions_skip_and_reopen(intake: FlowSpec, ctx: AnswerContext) -> None:
    c = Collector(intake, ctx)
    c.enter_step("insurance")
    assert isinstance(c.answer("no"), StepComplete)
    assert c.fields["insurance.provider"].status == "skipped"
    c.reopen("insurance.has_insurance")
    c.enter_step("insurance")
    assert asked(c.answer("yes")) == "insurance.provider"


def test_volunteered_answer_for_another_field(intake: FlowSpec, ctx: AnswerContext) -> None:
    c = Collector(intake, ctx)
    c.enter_step("visit")
    reply = c.record(FieldPath("visit", "new_patient"), "yes")
    assert asked(reply) == "visit.reason"
    assert c.fields["visit.reason"].attempts == 1  # re-asking the same question is not a new one
    assert c.fields["visit.new_patient"].value is True


def test_skip_of_a_required_field_is_a_failure(intake: FlowSpec, ctx: AnswerContext) -> None:
    c = Collector(intake, ctx)
    c.enter_step("visit")
    reply = c.skip()
    assert isinstance(reply, Ask) and reply.failed


def test_no_one_available_promises_a_call_back_and_asks_again(
    feedback: FlowSpec, ctx: AnswerContext
) -> None:
    c = Collector(feedback, ctx)
    c.enter_step("customer_identification")
    reply = c.no_one_available()
    assert isinstance(reply, Ask) and not reply.failed  # said to the caller, not a tool error
    assert reply.question.path == "customer_identification.customer_full_name"
    assert reply.question.text.startswith("No one can take the call right now")
    assert reply.question.text.endswith("May I have your full name, please?")
    again = c.no_one_available()  # the prefix is not stacked
    assert isinstance(again, Ask) and again.question.text.count("No one can take") == 1
    state = c.fields["customer_identification.customer_full_name"]
    assert (state.attempts, state.failures) == (3, 2)


def test_a_caller_who_only_asks_for_a_person_reaches_the_attempt_limit(
    feedback: FlowSpec, ctx: AnswerContext
) -> None:
    c = Collector(feedback, ctx)
    c.enter_step("satisfaction")
    for _ in range(3):
        assert isinstance(c.no_one_available(), Ask)
    assert isinstance(c.no_one_available(), StepComplete)
    assert c.fields["satisfaction.rating"].status == "missing"


def test_no_one_available_at_the_welcome_question(feedback: FlowSpec, ctx: AnswerContext) -> None:
    c = Collector(feedback, ctx)
    c.begin_welcome()
    for _ in range(3):
        reply = c.no_one_available()
        assert isinstance(reply, Ask) and reply.question.kind == "welcome"
    ended = c.no_one_available()
    assert isinstance(ended, EndCall) and ended.reason == "collection_failed"


def test_silence_at_an_optional_question_skips_it(feedback: FlowSpec, ctx: AnswerContext) -> None:
    """CONTRACT 2: after the re-prompts an optional field is skipped and the flow goes on
    (the known bug: silence at the last, optional, question ended the call no_input)."""
    c = Collector(feedback, ctx)
    assert asked(c.enter_step("comments")) == "comments.comments"
    assert asked(c.silence()) == "comments.comments"
    assert asked(c.silence()) == "comments.comments"
    done = c.silence()
    assert isinstance(done, StepComplete) and done.step_id == "comments"
    state = c.fields["comments.comments"]
    assert (state.status, state.attempts) == ("skipped", 3)


def test_silence_at_an_optional_item_field_leaves_it_empty(
    intake: FlowSpec, ctx: AnswerContext
) -> None:
    c = Collector(intake, ctx)
    c.enter_step("medications")
    c.answer("yes")
    assert asked(c.answer("lisinopril")) == "medications.medications[].dosage"
    c.silence()
    c.silence()
    assert asked(c.silence()) == "medications.medications[]"
    assert c.fields["medications.medications"].items == [{"name": "lisinopril", "dosage": None}]


def test_silence_at_a_read_back_still_ends_the_call(intake: FlowSpec, ctx: AnswerContext) -> None:
    c = Collector(intake, ctx)
    c.enter_step("contact")
    c.answer("no")
    c.answer("415 555 0199")
    c.answer("yes")
    assert c.answer("jane at example dot com").question.kind == "confirm"  # type: ignore[union-attr]
    c.silence()
    c.silence()
    assert isinstance(c.silence(), EndCall)


def test_welcome_decline_wrapped_in_an_explanation(feedback: FlowSpec, ctx: AnswerContext) -> None:
    c = Collector(feedback, ctx)
    c.begin_welcome()
    ended = c.answer("this isn't a good moment, I'm at work, try tomorrow")
    assert isinstance(ended, EndCall) and ended.reason == "declined"
    c = Collector(feedback, ctx)
    c.begin_welcome()
    assert isinstance(c.answer("I'm not busy, go ahead"), StepComplete)


def test_a_tie_between_two_options_asks_which_one(intake: FlowSpec, ctx: AnswerContext) -> None:
    c = Collector(intake, ctx)
    c.enter_step("appointment")
    reply = c.answer("morning or afternoon")
    assert isinstance(reply, Ask) and reply.failed
    assert reply.question.text == "Sorry, did you mean morning or afternoon?"
    done = c.answer("the afternoon")
    assert isinstance(done, StepComplete)
    assert c.fields["appointment.preferred_time"].value == "afternoon"
