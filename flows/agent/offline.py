"""The offline engine: a deterministic ``livekit.agents.llm.LLM`` for phone flows.

It reads the caller's last words and calls the very same tools a cloud model would
(``record_<field>``, ``answer_yes_no``, ``skip_question``, ``transfer_to_person``,
``no_more_calls``, ``correct_earlier_answer``, ``report_emergency``), leaving validation to
them. When it speaks, it says the question the collector has pending. ``simulate``,
``console`` and the tests run on it; in production it is the last entry of the LLM fallback
chain.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from livekit.agents import llm
from livekit.agents.llm import ChatChunk, ChoiceDelta, FunctionToolCall
from livekit.agents.types import (
    DEFAULT_API_CONNECT_OPTIONS,
    NOT_GIVEN,
    APIConnectOptions,
    NotGivenOr,
)

from flows.engine.answers import parse_value
from flows.engine.collector import Collector
from flows.engine.intents import (
    TYPE_NAMES,
    correction_target,
    emergency_phrase,
    wants_no_more_calls,
    wants_person,
    wants_skip,
)
from flows.errors import AnswerError
from flows.spec.fields import FieldSpec, ScalarField, tool_suffix


@dataclass(frozen=True)
class Decision:
    """Either words to say, or one tool call."""

    say: str | None = None
    tool: str | None = None
    arguments: dict[str, str] = field(default_factory=dict)


def decide(collector: Collector, words: str | None, tools: Collection[str]) -> Decision:
    """What the offline model does: answer the caller's ``words``, or speak (``words`` None).

    A tool that is not offered right now (e.g. tool_choice "none") means speaking instead.
    """
    pending = collector.pending
    decision = _route(collector, words, tools) if words and words.strip() else Decision()
    if decision.tool is None or decision.tool not in tools:
        return Decision(say=pending.text if pending else None)
    return decision


def _route(collector: Collector, words: str, tools: Collection[str]) -> Decision:
    spec, pending = collector.spec, collector.pending
    if spec.emergency and emergency_phrase(words, spec.emergency.phrases):
        return Decision(tool="report_emergency")
    if wants_no_more_calls(words):  # on every turn, the welcome question included
        return Decision(tool="no_more_calls")
    if wants_person(words):
        return Decision(tool="transfer_to_person")
    if "correct_earlier_answer" in tools:
        # Naming the field being asked is answering it, not correcting it.
        asking = pending.field_path if pending else None
        names = {p: _names_of(collector, p) for p in collector.visited_fields() if p != asking}
        target = correction_target(words, names)
        if target is not None:
            return Decision(tool="correct_earlier_answer", arguments={"field": target})
    if pending is None:
        return Decision()
    if pending.yes_no:
        return Decision(tool="answer_yes_no", arguments={"answer": words})
    assert pending.target is not None
    name = f"record_{tool_suffix(pending.target.field)}"
    if pending.target.sub is not None:  # one sub-field of a list item
        name += f"_{tool_suffix(pending.target.sub)}"
    target_spec = spec.answer_field(pending.target)
    if wants_skip(words) and not _parses(collector, target_spec, words):
        return Decision(tool="skip_question")
    return Decision(tool=name, arguments={"value": words})


def _parses(collector: Collector, field_spec: FieldSpec | ScalarField, words: str) -> bool:
    """Whether an answer that sounds like a refusal is a real answer: budget "not sure" is
    the option 'unknown', "no" answers a yes/no field, "none" is an empty allergy list.
    Free text and names take any words, so for them a refusal is a refusal."""
    if field_spec.type in ("text", "name"):
        return False
    try:
        parse_value(field_spec, words, collector.ctx)
    except AnswerError:
        return False
    return True


def _names_of(collector: Collector, path: str) -> list[str]:
    field_spec = collector.spec.field(path)
    return [field_spec.label, *field_spec.aliases, *TYPE_NAMES.get(field_spec.type, ())]


class OfflineLLM(llm.LLM[None]):
    def __init__(self, collector: Collector) -> None:
        super().__init__()
        self._collector = collector
        self._call_ids = itertools.count(1)

    @property
    def model(self) -> str:
        return "intake-offline"

    @property
    def provider(self) -> str:
        return "intake"

    def chat(
        self,
        *,
        chat_ctx: llm.ChatContext,
        tools: list[llm.Tool] | None = None,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
        parallel_tool_calls: NotGivenOr[bool] = NOT_GIVEN,
        tool_choice: NotGivenOr[llm.ToolChoice] = NOT_GIVEN,
        extra_kwargs: NotGivenOr[dict[str, Any]] = NOT_GIVEN,
    ) -> OfflineStream:
        names = {t.id for t in tools or [] if isinstance(t, llm.FunctionTool | llm.RawFunctionTool)}
        if tool_choice == "none":
            names = set()
        return OfflineStream(
            self, chat_ctx=chat_ctx, tools=tools or [], conn_options=conn_options, names=names
        )

    def next_call_id(self) -> str:
        return f"offline_{next(self._call_ids)}"

    @property
    def collector(self) -> Collector:
        return self._collector


class OfflineStream(llm.LLMStream):
    def __init__(
        self,
        offline: OfflineLLM,
        *,
        chat_ctx: llm.ChatContext,
        tools: list[llm.Tool],
        conn_options: APIConnectOptions,
        names: set[str],
    ) -> None:
        super().__init__(offline, chat_ctx=chat_ctx, tools=tools, conn_options=conn_options)
        self._offline = offline
        self._names = names

    async def _run(self) -> None:
        decision = decide(self._offline.collector, _caller_words(self.chat_ctx), self._names)
        delta: ChoiceDelta | None = None
        if decision.tool:
            call = FunctionToolCall(
                name=decision.tool,
                arguments=json.dumps(decision.arguments),
                call_id=self._offline.next_call_id(),
            )
            delta = ChoiceDelta(role="assistant", tool_calls=[call])
        elif decision.say:
            delta = ChoiceDelta(role="assistant", content=decision.say)
        if delta is not None:
            self._event_ch.send_nowait(ChatChunk(id=self._offline.next_call_id(), delta=delta))


def _caller_words(chat_ctx: llm.ChatContext) -> str | None:
    """The caller's words if the last thing in the conversation is the caller speaking."""
    items = chat_ctx.items
    if not items:
        return None
    last = items[-1]
    if isinstance(last, llm.ChatMessage) and last.role == "user":
        return last.text_content or ""
    return None
