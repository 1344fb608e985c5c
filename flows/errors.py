"""The one error tree of the project, and the one way to say what a validation found.

Every error the project raises on purpose is an ``IntakeError``: the CLI and the worker
catch that one type, turn it into one line, and ``retryable`` says whether trying again
can help. The tree, by the module that defines each branch::

    IntakeError                        flows.errors; ``retryable`` (default False)
    ├── FlowError                      flows.errors: a flow, a scenario or an answer
    │   ├── SpecError                  a flow spec is invalid (carries every problem found)
    │   ├── UnknownFlowError           no built-in flow or file matches the requested flow
    │   ├── ScenarioError              a scenario file is invalid
    │   ├── AnswerError                a caller's answer does not fit the field (retryable)
    │   │   └── AmbiguousAnswer        it fits two options equally: ask which one
    │   ├── FieldPathError             text that is not a step.field[].sub path (a ValueError)
    │   ├── DocumentError              flows.spec.documents: YAML that is not a valid document
    │   └── SimulationError            flows.testing.simulator: a simulated call stalled
    ├── SipError                       sip.errors: LiveKit SIP
    │   ├── JobMetadataError           an outbound job's metadata is not what the API promised
    │   ├── RoutingError               an inbound call matches no flow
    │   ├── ProvisioningError          a telephony file for `intake provision` is invalid or unsafe
    │   └── LiveKitRefusal             LiveKit refused or failed a trunk or dispatch-rule call
    └── ServiceError                   service.errors: the processes
        ├── ConfigError                a setting is missing or invalid; names the variable
        ├── DispatchError              service.scheduler.dispatch: a dispatch did not happen
        ├── ClockError                 service.scheduler.clock: a simulated clock's bad start
        ├── SimulatedCalleeError       service.scheduler.simulated: a bad simulated callee
        ├── ApiError                   service.api.errors: an HTTP answer (status, code)
        └── StoreError                 service.store.errors: the database
            ├── StoreUnavailableError  cannot be opened or reached (retryable)
            │   └── StoreUnusableError read-only, disk full or corrupt (not retryable)
            ├── UnknownCallError       no such call, or no final payload yet
            ├── UnknownDeliveryError   no delivery with that id
            ├── NotFoundError          no such requested call, campaign or API key
            ├── ConflictError          contradicts the stored state
            │   └── DoNotCallError     the number is on the do-not-call list
            └── QuotaExceededError     an API key's calls per minute are used up (retryable)

Messages never quote what a caller said or a secret: they say what was expected, because
they reach the model, logs and operators. ``CallEnding`` (flows.engine.call) is not an
error: it unwinds a call's tasks to the root agent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from pydantic import ValidationError


class IntakeError(Exception):
    """The root: whatever the project raises on purpose."""

    retryable: bool = False


class FlowError(IntakeError):
    """Base of every error raised by the flows package."""


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


class FieldPathError(FlowError, ValueError):
    """Text that is not a field path. A ValueError too, so a pydantic validator that parses
    a path reports it as a validation problem at the right location."""


class AnswerError(FlowError):
    """An answer could not be parsed. The message says what was expected, never what was said.

    A re-ask may succeed, so these are retryable.
    """

    retryable = True


class AmbiguousAnswer(AnswerError):
    """The answer fits two options equally well: ask which one, naming both."""

    def __init__(self, message: str, candidates: tuple[str, str]) -> None:
        super().__init__(message)
        self.candidates = candidates  # the two options' spoken labels, in spec order


Location = tuple[str | int, ...]


def os_reason(exc: OSError) -> str:
    """What the system said of a failed file or socket call, for a one-line error
    ("No such file or directory"), or the exception's name when it said nothing."""
    return exc.strerror or exc.__class__.__name__


def dotted(loc: Iterable[str | int]) -> str:
    return ".".join(str(part) for part in loc)


def one_line_reason(
    error: ValidationError | Sequence[Mapping[str, Any]],
    *,
    where: Callable[[Location], str] = dotted,
    template: str = "{where}: {what}",
) -> str:
    """The first problem a pydantic validation found, in one line: where it is (``where``
    formats pydantic's location) and what is wrong. Never the value given: it may be
    caller data or a secret."""
    errors = error.errors() if isinstance(error, ValidationError) else error
    if not errors:
        return "is invalid"
    first = errors[0]
    place = where(tuple(first.get("loc", ())))
    what = " ".join(str(first.get("msg", "is invalid")).removeprefix("Value error, ").split())
    return template.format(where=place, what=what) if place else what
