"""The offline engine's routing: which tool the caller's words go to."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from flows.agent.offline import Decision, decide
from flows.engine.answers import AnswerContext
from flows.engine.collector import Collector
from flows.spec.flow import FlowSpec

STEP_TOOLS = {
    "record_full_name",
    "record_date_of_birth",
    "record_phone",
    "record_email",
    "record_reason",
    "record_medications_name",
    "record_medications_dosage",
    "answer_yes_no",
    "skip_question",
    "transfer_to_person",
    "no_more_calls",
    "correct_earlier_answer",
    "report_emergency",
}


def collector_at(spec: FlowSpec, ctx: AnswerContext, step: str) -> Collector:
    c = Collector(spec, ctx, call_number="+14155550123")
    c.enter_step(step)
    return c


def test_speaking_says_the_pending_question(intake: FlowSpec, ctx: AnswerContext) -> None:
    c = collector_at(intake, ctx, "patient")
    assert decide(c, None, STEP_TOOLS) == Decision(say="What is the patient's full name?")


def test_answers_go_to_the_field_tool(intake: FlowSpec, ctx: AnswerContext) -> None:
    c = collector_at(intake, ctx, "patient")
    assert decide(c, "jane doe", STEP_TOOLS) == Decision(
        tool="record_full_name", arguments={"value": "jane doe"}
    )


def test_yes_no_questions_go_to_answer_yes_no(intake: FlowSpec, ctx: AnswerContext) -> None:
    c = collector_at(intake, ctx, "contact")  # the offer of the call's number
    assert decide(c, "yes", STEP_TOOLS).tool == "answer_yes_no"


def test_item_questions_go_to_the_sub_field_tool(intake: FlowSpec, ctx: AnswerContext) -> None:
    c = collector_at(intake, ctx, "medications")
    c.answer("yes")
    assert decide(c, "lisinopril", STEP_TOOLS).tool == "record_medications_name"


def test_intents_come_first(intake: FlowSpec, ctx: AnswerContext) -> None:
    c = collector_at(intake, ctx, "patient")
    c.answer("jane doe")
    assert decide(c, "I have chest pain", STEP_TOOLS).tool == "report_emergency"
    assert decide(c, "let me talk to a person", STEP_TOOLS).tool == "transfer_to_person"
    assert decide(c, "I gave you the wrong name", STEP_TOOLS) == Decision(
        tool="correct_earlier_answer", arguments={"field": "patient.full_name"}
    )


def test_a_request_not_to_be_called_again_is_heard_at_every_kind_of_question(
    intake: FlowSpec, feedback: FlowSpec, ctx: AnswerContext
) -> None:
    welcome = Collector(feedback, ctx)
    welcome.begin_welcome()
    readback = collector_at(intake, ctx, "patient")
    readback.answer("jane doe")
    readback.answer("march fifth nineteen eighty")  # now its read-back is pending
    offer = collector_at(intake, ctx, "contact")
    more = collector_at(intake, ctx, "medications")
    item = collector_at(intake, ctx, "medications")
    item.answer("yes")
    tools = STEP_TOOLS | {"record_customer_full_name"}
    for collector, kind in [
        (welcome, "welcome"),
        (readback, "confirm"),
        (offer, "offer"),
        (more, "more"),
        (item, "item"),
    ]:
        assert collector.pending is not None and collector.pending.kind == kind
        decision = decide(collector, "please take me off your calling list", tools)
        assert decision == Decision(tool="no_more_calls"), kind
    named = collector_at(intake, ctx, "patient")
    assert decide(named, "call me back later", STEP_TOOLS).tool == "record_full_name"


def test_skip_unless_it_is_an_option(catalog: object, ctx: AnswerContext) -> None:
    from flows.spec.catalog import FlowCatalog

    leads = FlowCatalog().load("lead_qualification")
    c = collector_at(leads, ctx, "budget")
    tools = {"record_budget_range", "skip_question"}
    assert decide(c, "not sure", tools).tool == "record_budget_range"  # an option: unknown
    c = collector_at(leads, ctx, "need")
    assert decide(c, "not sure", {"record_problem", "skip_question"}).tool == "skip_question"


def test_a_tool_not_offered_means_speaking(intake: FlowSpec, ctx: AnswerContext) -> None:
    c = collector_at(intake, ctx, "patient")
    assert decide(c, "jane doe", set()) == Decision(say="What is the patient's full name?")


@given(st.text())
def test_decide_never_raises(intake: FlowSpec, text: str) -> None:
    from datetime import date

    c = collector_at(intake, AnswerContext("US", date(2026, 11, 27)), "contact")
    decide(c, text, STEP_TOOLS)


def test_a_bare_no_is_no_comment_but_still_answers_yes_no_and_lists(
    catalog: object, intake: FlowSpec, ctx: AnswerContext
) -> None:
    from flows.spec.catalog import FlowCatalog

    feedback = FlowCatalog().load("customer_feedback")
    c = collector_at(feedback, ctx, "comments")
    assert decide(c, "no", {"record_comments", "skip_question"}).tool == "skip_question"
    c = collector_at(intake, ctx, "allergies")
    assert decide(c, "none", {"record_allergies", "skip_question"}).tool == "record_allergies"
    c = collector_at(intake, ctx, "visit")
    c.answer("knee pain")
    assert decide(c, "no", {"record_new_patient", "skip_question"}).tool == "record_new_patient"


def test_a_correction_without_a_keyword_names_the_field(
    intake: FlowSpec, ctx: AnswerContext
) -> None:
    c = collector_at(intake, ctx, "contact")
    c.answer("yes")  # the call's number
    c.answer("jane at example dot com")
    c.answer("yes")
    c.enter_step("visit")
    assert decide(c, "use my personal email instead", STEP_TOOLS) == Decision(
        tool="correct_earlier_answer", arguments={"field": "contact.email"}
    )
    assert decide(c, "my cell is better actually", STEP_TOOLS) == Decision(
        tool="correct_earlier_answer", arguments={"field": "contact.phone"}
    )


def test_naming_the_field_being_asked_answers_it(intake: FlowSpec, ctx: AnswerContext) -> None:
    c = collector_at(intake, ctx, "contact")
    c.answer("yes")
    decision = decide(c, "my personal email is better, jane at example dot com", STEP_TOOLS)
    assert decision.tool == "record_email"


def test_emergency_by_meaning_comes_first(intake: FlowSpec, ctx: AnswerContext) -> None:
    c = collector_at(intake, ctx, "visit")
    assert decide(c, "he collapsed and isn't waking up", STEP_TOOLS).tool == "report_emergency"
    assert decide(c, "a checkup after my heart attack last year", STEP_TOOLS).tool == (
        "record_reason"
    )
