"""The port the scheduler hands a due call to: LiveKit's agent dispatch in production, the
offline simulator under ``intake serve --simulate``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from flows.engine.json_types import JsonObject
from service.errors import ServiceError

DISPATCHING = "dispatch calls to LiveKit"  # what LiveKit's credentials are needed for


@dataclass(frozen=True)
class Dispatch:
    """One dial of a requested call. The job metadata the worker reads
    (``sip.dialing.OutboundJob``) is ``{call_id, to, from, flow, metadata}``."""

    call_id: str
    attempt: int  # 1 for the first dial
    room: str  # the LiveKit room of this attempt
    to: str  # E.164
    from_: str | None
    flow: str
    metadata: JsonObject = field(default_factory=dict)
    simulate: JsonObject | None = None  # the scripted callee, --simulate only

    def job_metadata(self) -> JsonObject:
        return {
            "call_id": self.call_id,
            "to": self.to,
            "from": self.from_,
            "flow": self.flow,
            "metadata": self.metadata,
        }


class DispatchError(ServiceError):
    """The call could not be handed over; ``retryable`` says whether a later try may work.
    The message is one line without caller data."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


class Dispatcher(Protocol):
    async def dispatch(self, job: Dispatch) -> None:
        """Hand the call to a worker; returns once it is accepted (not answered).
        Raises DispatchError."""
        ...

    async def withdraw(self, job: Dispatch) -> None:
        """Best effort: no worker took the call in time, so make sure none will."""
        ...
