"""Spec -> livekit-agents: a ``TaskGroup`` with one ``StepTask`` per step.

TaskGroup runs the steps in order and lets the caller go back to a visited step; its
factories re-create the step's task, which asks only what the correction reopened.
"""

from __future__ import annotations

from functools import partial

from livekit.agents.beta.workflows import TaskCompletedEvent, TaskGroup

from flows.agent.tasks import StepTask
from flows.engine.call import Call


def compile_flow(call: Call) -> TaskGroup:
    async def step_completed(event: TaskCompletedEvent) -> None:
        call.step_completed(event.task_id)

    group = TaskGroup(summarize_chat_ctx=False, on_task_completed=step_completed)
    for step in call.spec.steps:
        group.add(partial(StepTask, call, step), id=step.id, description=step.summary)
    return group
