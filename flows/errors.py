"""Errors raised by the flows package.

Tree::

    FlowError                     base; ``retryable`` says whether trying again can help
    ├── SpecError                 a flow spec file is invalid (carries every problem found)
    ├── UnknownFlowError          no built-in flow or file matches the requested flow
    ├── ScenarioError             a scenario file is invalid
    └── AnswerError               a caller's answer could not be understood as the field's type

Messages never quote what the caller said: they describe what was expected, because they
reach the model, logs and operators.
"""

from __future__ import annotations


class FlowError(Exception):
    """Base of every error raised by the flows package."""

    retryable: bool = False


class SpecError(FlowError):
    """A flow spec is invalid. ``problems`` lists ``(location, message)`` pairs."""

    def __init__(self, source: str, problems: list[tuple[str, str]]) -> None:
        self.source = source
        self.problems = problems
        first = f"{problems[0][0]}: {problems[0][1]}" if problems else "invalid"
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(f"{source}: {first}{more}")


class UnknownFlowError(FlowError):
    """No built-in flow id or readable spec file matches."""


class ScenarioError(FlowError):
    """A scenario file is invalid."""


class AnswerError(FlowError):
    """An answer could not be parsed. The message says what was expected, never what was said.

    A re-ask may succeed, so these are retryable.
    """

    retryable = True
