"""The function tools a step exposes to the model, generated from the spec.

Each tool forwards the model's arguments to the collector (which validates and
normalises with the answer parsers) and returns what to ask next. An answer that cannot
be used becomes a ``ToolError`` the model can act on; the caller's words never appear in it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from livekit.agents import llm
from livekit.agents.llm import StopResponse, ToolError, function_tool

from flows.engine.call import Call, CallEnding
from flows.engine.replies import Reply
from flows.errors import AnswerError
from flows.spec.fields import ChoiceField, FieldSpec, ListField, ScalarField, tool_suffix
from flows.spec.flow import StepSpec
from flows.spec.paths import FieldPath


class ToolHost(Protocol):
    """What a tool needs of the task that offers it (``flows.agent.tasks.FlowTask``); a
    protocol, so that tasks import tools and not the other way round."""

    @property
    def call(self) -> Call: ...
    def answer_for_model(self, reply: Reply) -> None: ...
    def end(self, ending: CallEnding) -> None: ...


class StepHost(ToolHost, Protocol):
    """A step's task (``flows.agent.tasks.StepTask``)."""

    @property
    def step(self) -> StepSpec: ...
    def regress_tool(self) -> Any: ...


_FORMATS = {
    "date": "a calendar date, e.g. 1980-03-05 or what they said",
    "phone": "the phone number, digits or as spoken",
    "email": "the e-mail address, e.g. bob_smith@acme.io or as spoken",
    "digits": "the digits, e.g. 334",
    "alphanumeric": "letters and digits, e.g. XYZ123",
    "address": "the postal address as said (street, unit, city, state, ZIP/postal code, country)",
    "integer": "a whole number",
    "yes_no": "yes or no",
    "choice": "the option they chose, or their words",
    "name": "the person's name",
    "text": "the caller's answer in their words",
    "list": "every item they named, comma separated; 'none' if they have none",
}


def welcome_tools(task: ToolHost) -> list[llm.Tool | llm.Toolset]:
    tools: list[llm.Tool | llm.Toolset] = [
        _yes_no_tool(task),
        _person_tool(task),
        _no_more_calls_tool(task),
    ]
    if task.call.spec.emergency is not None:
        tools.append(_emergency_tool(task))
    return tools


def step_tools(task: StepHost) -> list[llm.Tool | llm.Toolset]:
    spec, step = task.call.spec, task.step
    tools: list[llm.Tool | llm.Toolset] = []
    for field in step.fields:
        path = FieldPath(step.id, field.id)
        if isinstance(field, ListField) and field.item.type == "object":
            for sub in field.item.fields:
                name = f"record_{tool_suffix(field.id)}_{tool_suffix(sub.id)}"
                about = f"one {field.label} item's {sub.label}"
                tools.append(_record_tool(task, path.item_field(sub.id), name, sub, about))
        else:
            tools.append(_record_tool(task, path, f"record_{tool_suffix(field.id)}", field))
    tools += [
        _yes_no_tool(task),
        _skip_tool(task),
        _person_tool(task),
        _no_more_calls_tool(task),
        _correct_tool(task),
    ]
    if spec.emergency is not None:
        tools.append(_emergency_tool(task))
    return tools


def _forward(task: ToolHost, answer: Callable[[], Reply]) -> None:
    try:
        reply = answer()
    except AnswerError as exc:
        raise ToolError(str(exc)) from None
    task.answer_for_model(reply)


Handler = Callable[[dict[str, object]], Awaitable[str | None]]


def _tool(name: str, description: str, handler: Handler, **params: dict[str, Any]) -> llm.Tool:
    """A tool with its JSON schema written out: no docstring parsing or argument model for
    livekit to build each time a step's task is created. livekit passes the handler the
    model's arguments as ``raw_arguments`` (the parameter's name is what it looks for)."""
    schema = {
        "name": name,
        "description": description,
        "parameters": {"type": "object", "properties": params, "required": list(params)},
    }

    return function_tool(handler, raw_schema=schema)


def _text(description: str, **extra: Any) -> dict[str, Any]:
    return {"type": "string", "description": description, **extra}


def _record_tool(
    task: ToolHost,
    path: FieldPath,
    name: str,
    field: FieldSpec | ScalarField,
    about: str | None = None,
) -> llm.Tool:
    subject = about or f"the caller's {field.label}"
    description = f"Record {subject} as soon as they give it. Pass {_FORMATS[field.type]}."
    if isinstance(field, ChoiceField):
        description += " One of: " + ", ".join(o.spoken for o in field.options) + "."

    async def record(raw_arguments: dict[str, object]) -> None:
        value = str(raw_arguments.get("value") or "")
        _forward(task, lambda: task.call.collector.record(path, value))

    return _tool(name, description, record, value=_text(_FORMATS[field.type]))


def _yes_no_tool(task: ToolHost) -> llm.Tool:
    async def answer_yes_no(raw_arguments: dict[str, object]) -> None:
        answer = str(raw_arguments.get("answer") or "")
        _forward(task, lambda: task.call.collector.answer(answer))

    return _tool(
        "answer_yes_no",
        "Record the caller's reply to the yes/no question you just asked (a read-back to "
        'confirm, "any more?", "is the number you\'re on the best one?", the welcome question).',
        answer_yes_no,
        answer=_text('yes or no, or their words when they add a correction ("no, it\'s 0199")'),
    )


def _skip_tool(task: ToolHost) -> llm.Tool:
    async def skip_question(raw_arguments: dict[str, object]) -> None:
        _forward(task, task.call.collector.skip)

    return _tool(
        "skip_question",
        "The caller does not know, or does not want to answer, the current question.",
        skip_question,
    )


def _person_tool(task: ToolHost) -> llm.Tool:
    async def transfer_to_person(raw_arguments: dict[str, object]) -> None:
        call = task.call
        if not call.can_transfer("caller_request"):
            # No destination: promise a call back and carry on with the flow.
            _forward(task, call.collector.no_one_available)
            return
        task.end(CallEnding("caller_request"))
        raise StopResponse()  # the root agent announces the transfer

    return _tool(
        "transfer_to_person",
        "The caller asks to speak with a person (a human, an agent, the front desk).",
        transfer_to_person,
    )


def _no_more_calls_tool(task: ToolHost) -> llm.Tool:
    async def no_more_calls(raw_arguments: dict[str, object]) -> None:
        task.call.request_no_more_calls()
        task.end(CallEnding("declined"))
        raise StopResponse()  # the root agent acknowledges and says goodbye

    return _tool(
        "no_more_calls",
        'The caller asks not to be called again ("don\'t call me again", "take me off your '
        'list", "remove my number"), at any point. Not for "call me back later".',
        no_more_calls,
    )


def _emergency_tool(task: ToolHost) -> llm.Tool:
    async def report_emergency(raw_arguments: dict[str, object]) -> None:
        task.end(CallEnding("emergency"))
        raise StopResponse()  # the root agent says the safety message

    return _tool(
        "report_emergency",
        "The caller describes a medical emergency or a danger to themselves or others.",
        report_emergency,
    )


def _correct_tool(task: StepHost) -> llm.Tool:
    collector = task.call.collector

    async def correct_earlier_answer(raw_arguments: dict[str, object]) -> None:
        path = str(raw_arguments.get("field") or "")
        if path not in collector.visited_fields():
            raise ToolError("That question has not been asked yet; carry on with the current one.")
        step_id = collector.reopen(path)
        if step_id == task.step.id:
            _forward(task, lambda: collector.enter_step(step_id))
            return
        regress: Callable[..., Awaitable[None]] | None = task.regress_tool()
        if regress is None:
            raise ToolError("Going back is not possible here; carry on with the current question.")
        collector.pending = None
        await regress(task_ids=[step_id])
        raise StopResponse()  # the re-created step asks for the reopened field

    return _tool(
        "correct_earlier_answer",
        'The caller wants to change an answer they already gave ("I gave you the wrong '
        'email"). Only that answer is asked again; everything else is kept.',
        correct_earlier_answer,
        field=_text(
            "The step.field path of the answer to change.", enum=collector.spec.field_paths()
        ),
    )
