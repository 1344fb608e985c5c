"""The livekit-agents tasks a flow compiles to: the welcome question and one task per step.

Tasks are thin: every input (a tool call, a keypad entry, silence) goes to the call's
collector, and the task acts on its ``Reply``: ask the next question, or complete.
A ``CallEnding`` completes a task with an exception, unwinding to the root agent.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from livekit.agents import AgentTask, llm
from livekit.agents.llm import StopResponse, ToolError

from flows.agent.instructions import step_instructions, welcome_instructions
from flows.agent.tools import step_tools, welcome_tools
from flows.engine.call import Call, CallEnding
from flows.engine.record import FieldState
from flows.engine.replies import Ask, EndCall, Escalate, Reply, StepComplete
from flows.spec.flow import StepSpec

ResultT = TypeVar("ResultT")


@dataclass(frozen=True)
class StepResult:
    step_id: str
    fields: dict[str, FieldState]


class FlowTask(AgentTask[ResultT], Generic[ResultT]):
    """What the welcome and step tasks share: acting on replies, inputs beside the model."""

    def __init__(
        self,
        call: Call,
        *,
        instructions: str,
        tools: Callable[[Any], list[llm.Tool | llm.Toolset]],
    ) -> None:
        # The tools close over this task; building them here (not with update_tools on
        # entry) saves livekit a second scan and schema build on every step.
        self.call = call
        super().__init__(instructions=instructions, tools=tools(self))

    def begin(self) -> Reply:
        raise NotImplementedError

    def result(self) -> ResultT:
        raise NotImplementedError

    async def on_enter(self) -> None:
        # An exception escaping on_enter would leave the awaiting agent waiting forever.
        try:
            self.call.active = self
            if self.call.out_of_time:
                self.end(CallEnding("collection_failed"))
                return
            self.deliver(self.begin())
        except Exception:
            self.call.log.exception("task.error", task=type(self).__name__)
            self.end(CallEnding("error"))

    async def on_exit(self) -> None:
        if self.call.active is self:
            self.call.active = None

    async def on_user_turn_completed(
        self, turn_ctx: llm.ChatContext, new_message: llm.ChatMessage
    ) -> None:
        # A guard that does not depend on the model noticing an emergency.
        if self.call.emergency(new_message.text_content or ""):
            self.end(CallEnding("emergency"))
            raise StopResponse()

    # -- replies -----------------------------------------------------------------------

    def answer_for_model(self, reply: Reply) -> None:
        """After a tool: ask the next question ourselves, so the turn needs no second model
        request (the flow's own wording, half the latency). An answer that could not be
        used is a ToolError: the model hears why and asks again."""
        if isinstance(reply, Ask) and reply.failed:
            raise ToolError(f'{reply.note} Ask the caller again: "{reply.question.text}"')
        self.deliver(reply)
        if not isinstance(reply, Ask):
            raise StopResponse()  # the next task, or the ending, speaks next

    def deliver(self, reply: Reply) -> None:
        """Act on a reply: say the next question, or finish the task."""
        if isinstance(reply, Ask):
            self.session.say(reply.question.text)
        else:
            self.conclude(reply)

    def conclude(self, reply: StepComplete | Escalate | EndCall) -> None:
        if isinstance(reply, StepComplete):
            self.finish_with(self.result())
        else:
            self.end(CallEnding(reply.reason))

    def end(self, ending: CallEnding) -> None:
        self.call.collector.pending = None  # nothing is being asked any more
        self.finish_with(ending)

    def finish_with(self, outcome: ResultT | Exception) -> None:
        if not self.done():
            self.complete(outcome)

    # -- inputs beside the model -------------------------------------------------------

    def take_keypad(self, digits: str) -> None:
        if not self.done():
            # A caller who keyed the answer has heard enough of the question; speech that
            # must not be cut (a safety message, a goodbye) refuses and plays on.
            with contextlib.suppress(RuntimeError):
                self.session.interrupt()
            self.deliver(self.call.collector.keypad(digits))

    def take_silence(self) -> None:
        if not self.done():
            self.deliver(self.call.collector.silence())


class WelcomeTask(FlowTask[None]):
    """The welcome question ("is now a good time?"); a no ends the call as declined."""

    def __init__(self, call: Call) -> None:
        super().__init__(call, instructions=welcome_instructions(call.spec), tools=welcome_tools)

    def begin(self) -> Reply:
        return self.call.collector.begin_welcome()

    def result(self) -> None:
        return None


class StepTask(FlowTask[StepResult]):
    """One step of the flow: its fields are the tools; re-created when the caller goes back."""

    def __init__(self, call: Call, step: StepSpec) -> None:
        self.step = step
        super().__init__(call, instructions=step_instructions(call.spec, step), tools=step_tools)

    def begin(self) -> Reply:
        return self.call.collector.enter_step(self.step.id)

    def result(self) -> StepResult:
        prefix = f"{self.step.id}."
        fields = {p: s for p, s in self.call.collector.fields.items() if p.startswith(prefix)}
        return StepResult(step_id=self.step.id, fields=fields)

    def regress_tool(self) -> Any:
        """TaskGroup's own tool for going back to a visited step, if it gave us one."""
        return next((t for t in self.tools if getattr(t, "id", None) == "out_of_scope"), None)
