"""The real AgentSession, TaskGroup and tasks in text mode, in a fake job with a real Room.

Nothing of livekit-agents is mocked: the offline engine is a genuine ``llm.LLM`` and the
caller's keypad presses arrive as ``sip_dtmf_received`` events on the job's room.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from calls import LiveCall
from livekit.agents import RunResult, llm
from livekit.agents.llm import StopResponse

from flows.agent.root import NO_MORE_CALLS_GOODBYE
from flows.agent.tasks import StepTask
from flows.engine.call import Call, CallEnding, CallInfo
from flows.spec.flow import FlowSpec
from flows.testing.callers import ScriptedTransferer
from flows.testing.harness import offline_call
from sip.dtmf import listen_for_keys


def make_call(spec: FlowSpec, *, transfer_to: str | None = None) -> Call:
    info = CallInfo(
        call_id="call_TEST",
        direction="outbound",
        from_="+18005550100",
        to="+14155550123",
        job_id="AJ_test",
        room_id="RM_test",
        room="call-test",
    )
    call = Call(spec, info, transferer=ScriptedTransferer(), transfer_to=transfer_to)
    call.answered.set()  # as if the callee picked up
    return call


async def start(call: Call) -> AsyncIterator[LiveCall]:
    async with offline_call(call) as running:
        listen_for_keys(running.room, running.keypad)  # keys arrive as room events here
        await running.start()
        yield LiveCall(call, running.session, running.room)


@pytest.fixture
async def survey(feedback: FlowSpec) -> AsyncIterator[LiveCall]:
    async for live in start(make_call(feedback)):
        yield live


async def test_tools_get_the_callers_words(survey: LiveCall) -> None:
    await survey.asked("welcome")
    result: RunResult[None] = await survey.session.run(user_input="sure")
    result.expect.contains_function_call(name="answer_yes_no", arguments={"answer": "sure"})
    await survey.asked("customer_identification.customer_full_name")
    result = await survey.session.run(user_input="this is john doe")
    result.expect.contains_function_call(
        name="record_customer_full_name", arguments={"value": "this is john doe"}
    )
    assert survey.call.collector.fields["customer_identification.customer_full_name"].value == (
        "John Doe"
    )


async def test_unusable_answer_is_a_tool_error_and_a_re_ask(survey: LiveCall) -> None:
    await survey.asked("welcome")
    await survey.session.run(user_input="yes")
    await survey.asked("customer_identification.customer_full_name")
    await survey.session.run(user_input="john doe")
    await survey.asked("customer_identification.service_order_number")
    result: RunResult[None] = await survey.session.run(user_input="I don't remember it")
    outputs = [e.item for e in result.events if e.type == "function_call_output"]
    assert outputs and all(o.is_error for o in outputs)
    messages = [e.item for e in result.events if e.type == "message"]
    assert "service order number" in (messages[-1].text_content or "")


async def test_keys_on_the_room_answer_a_field(survey: LiveCall) -> None:
    await survey.asked("welcome")
    survey.press("1")  # a one-key menu answer ends the entry by itself
    await survey.asked("customer_identification.customer_full_name")
    await survey.session.run(user_input="maria garcia")
    await survey.asked("customer_identification.service_order_number")
    survey.press("5512#")
    await survey.asked("service_type.service_type")
    state = survey.call.collector.fields["customer_identification.service_order_number"]
    assert (state.value, state.source) == ("5512", "dtmf")


async def test_hangup_ends_the_call_at_once_with_partial_results(survey: LiveCall) -> None:
    await survey.asked("welcome")
    await survey.session.run(user_input="yes")
    await survey.asked("customer_identification.customer_full_name")
    await survey.session.run(user_input="john doe")
    await survey.asked("customer_identification.service_order_number")
    payload = survey.call.hangup()
    assert (payload.status, payload.ended_reason) == ("incomplete", "caller_hangup")
    assert payload.results["customer_identification"]["customer_full_name"] == "John Doe"
    assert payload.fields["customer_identification.service_order_number"].status == "missing"
    assert survey.call.hangup() is payload  # one payload per call


async def test_going_back_re_creates_only_the_reopened_question(intake: FlowSpec) -> None:
    async for live in start(make_call(intake)):
        await live.asked("patient.full_name")
        await live.session.run(user_input="jane doe")
        await live.asked("patient.date_of_birth")
        await live.session.run(user_input="march fifth nineteen eighty")
        await live.asked("patient.date_of_birth")  # the read-back
        await live.session.run(user_input="yes")
        await live.asked("contact.phone")  # the offer of this call's number
        result: RunResult[None] = await live.session.run(
            user_input="wait, I gave you the wrong name"
        )
        result.expect.contains_function_call(
            name="correct_earlier_answer", arguments={"field": "patient.full_name"}
        )
        await live.asked("patient.full_name")
        assert isinstance(live.session.current_agent, StepTask)
        assert live.session.current_agent.step.id == "patient"
        await live.session.run(user_input="jane smith")
        await live.asked("contact.phone")  # the date of birth is not asked again
        fields = live.call.collector.fields
        assert fields["patient.full_name"].value == "Jane Smith"
        assert fields["patient.date_of_birth"].attempts == 1


async def test_emergency_guard_does_not_need_the_model(intake: FlowSpec) -> None:
    async for live in start(make_call(intake, transfer_to="+14155550999")):
        await live.asked("patient.full_name")
        task = live.session.current_agent
        assert isinstance(task, StepTask)
        message = llm.ChatMessage(role="user", content=["I can't breathe"])
        with pytest.raises(StopResponse):
            await task.on_user_turn_completed(llm.ChatContext(), message)
        for _ in range(500):
            if live.call.ended:
                break
            await asyncio.sleep(0.002)
        payload = live.call.payload
        assert payload is not None and payload.ended_reason == "emergency"
        assert payload.transfer is not None and payload.transfer.reason == "emergency"


def agent_lines(live: LiveCall) -> list[str]:
    return [
        item.text_content or ""
        for item in live.session.history.items
        if isinstance(item, llm.ChatMessage) and item.role == "assistant"
    ]


@pytest.mark.parametrize(
    ("transfer_to", "connecting"), [(None, False), ("+14155550999", True)], ids=["none", "set"]
)
async def test_an_emergency_says_it_connects_only_with_a_destination(
    intake: FlowSpec, transfer_to: str | None, connecting: bool
) -> None:
    async for live in start(make_call(intake, transfer_to=transfer_to)):
        await live.asked("patient.full_name")
        with contextlib.suppress(CallEnding):  # the turn that ends the call surfaces it
            await live.say("my husband collapsed and he can't breathe")
        await live.ended()
        payload = live.call.payload
        assert payload is not None and payload.ended_reason == "emergency"
        assert (payload.transfer is not None) == connecting
        spoken = " ".join(agent_lines(live))
        assert "dial 911" in spoken
        assert ("connecting you" in spoken) == connecting


async def test_asking_for_a_person_without_a_destination_carries_on(survey: LiveCall) -> None:
    live = survey
    await live.asked("welcome")
    await live.say("can I speak to a human please")
    await live.asked("welcome")
    await live.say("sure")
    await live.asked("customer_identification.customer_full_name")
    await live.say("can I speak to a human please")
    await live.asked("customer_identification.customer_full_name")
    assert "call you back" in agent_lines(live)[-1]
    await live.say("john doe")
    await live.asked("customer_identification.service_order_number")
    assert live.call.transfer is None and not live.call.ended


async def test_a_finished_keypad_entry_interrupts_the_prompt(survey: LiveCall) -> None:
    await survey.asked("welcome")
    await survey.say("yes")
    await survey.asked("customer_identification.customer_full_name")
    await survey.say("john doe")
    await survey.asked("customer_identification.service_order_number")
    await survey.say("334")
    await survey.asked("service_type.service_type")
    await survey.say("plumbing")
    await survey.asked("satisfaction.rating")
    prompt = survey.session.say("On a scale of one to five, where one is ... (a long prompt)")
    survey.press("4")  # one key answers a 1-5 rating: the entry is complete at once
    await survey.asked("recommendation.nps")
    assert prompt.interrupted
    assert survey.call.collector.fields["satisfaction.rating"].value == 4


async def test_endings_cannot_be_interrupted(survey: LiveCall) -> None:
    handles: list[Any] = []
    survey.session.on("speech_created", lambda ev: handles.append(ev.speech_handle))
    await survey.asked("welcome")
    with contextlib.suppress(CallEnding):
        await survey.say("no, I'm busy")
    await survey.ended()
    goodbye = handles[-1]
    assert not goodbye.allow_interruptions
    assert all(h.allow_interruptions for h in handles[:-1])  # questions can be cut short


async def no_more_calls(live: LiveCall, words: str) -> None:
    """The callee says it; the no_more_calls tool (nothing else) records the request."""
    with contextlib.suppress(CallEnding):  # the turn that ends the call surfaces it
        await live.say(words)
    await live.ended()
    assert live.call.do_not_call


async def test_dont_call_me_again_at_the_welcome_question_declines(feedback: FlowSpec) -> None:
    call = make_call(feedback)
    heard: list[str] = []
    call.on_do_not_call.append(lambda: heard.append(call.info.call_id))
    async for live in start(call):
        await live.asked("welcome")
        await no_more_calls(live, "no, and don't call me again")
        payload = live.call.payload
        assert payload is not None
        assert (payload.status, payload.ended_reason) == ("declined", "declined")
        assert agent_lines(live)[-1] == NO_MORE_CALLS_GOODBYE
        assert heard == ["call_TEST"] and live.call.do_not_call
        live.call.request_no_more_calls()  # said again, or by the model twice: told once
        assert heard == ["call_TEST"]


async def test_dont_call_me_again_mid_flow_keeps_the_answers(intake: FlowSpec) -> None:
    call = make_call(intake, transfer_to="+14155550999")
    heard: list[bool] = []
    call.on_do_not_call.append(lambda: heard.append(True))
    async for live in start(call):
        await live.asked("patient.full_name")
        await live.say("jane doe")
        await live.asked("patient.date_of_birth")
        await live.say("march fifth nineteen eighty")
        await live.asked("patient.date_of_birth")  # its read-back
        await no_more_calls(live, "actually, remove my number from your list")
        payload = live.call.payload
        assert payload is not None and payload.transfer is None  # no transfer is tried
        assert (payload.status, payload.ended_reason) == ("incomplete", "declined")
        assert payload.results["patient"]["full_name"] == "Jane Doe"
        assert heard == [True]


async def test_dont_call_me_again_after_every_required_answer_is_completed(
    feedback: FlowSpec,
) -> None:
    async for live in start(make_call(feedback)):
        for path, words in [
            ("welcome", "sure"),
            ("customer_identification.customer_full_name", "john doe"),
            ("customer_identification.service_order_number", "334"),
            ("service_type.service_type", "plumbing"),
            ("satisfaction.rating", "five"),
            ("recommendation.nps", "ten"),
            ("resolution.issue_resolved", "yes"),
        ]:
            await live.asked(path)
            await live.say(words)
        await live.asked("comments.comments")  # optional
        await no_more_calls(live, "stop calling me")
        payload = live.call.payload
        assert payload is not None
        assert (payload.status, payload.ended_reason) == ("completed", "declined")


async def test_a_callee_who_asks_and_hangs_up_before_the_goodbye_still_declined(
    feedback: FlowSpec,
) -> None:
    async for live in start(make_call(feedback)):
        await live.asked("welcome")
        await live.say("yes")
        await live.asked("customer_identification.customer_full_name")
        live.call.request_no_more_calls()  # the model's tool ran; the goodbye is not said yet
        payload = live.call.hangup()
        assert (payload.status, payload.ended_reason) == ("incomplete", "declined")
