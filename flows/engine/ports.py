"""The ports a call talks through; sip/ and service/ hold the implementations.

- ``Transferer``: hands the caller to a human (``sip.transfer``, ``sip.warm_transfer``).
- ``Dialer``: rings an outbound callee (``sip.dialing.LiveKitDialer``).
- ``CallRecorder``: keeps a call's progress and payload (``service.store.CallStore``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from flows.engine.outcomes import DialFailure, TransferOutcome
from flows.engine.payload import Payload
from flows.spec.flow import TransferReason


@dataclass(frozen=True)
class TransferRequest:
    to: str
    reason: TransferReason
    briefing: str  # what was collected, sensitive fields left out


class Transferer(Protocol):
    # Whether a connected transfer leaves the caller and the human in the call's room (warm),
    # rather than handing the caller's SIP leg elsewhere (cold): then the room must stay up.
    keeps_room: bool

    async def transfer(self, request: TransferRequest) -> TransferOutcome: ...


@dataclass(frozen=True)
class DialRequest:
    room_name: str
    to: str  # E.164 of the callee
    caller_id: str | None  # the number shown to the callee; None = the trunk's
    participant_identity: str


class Dialer(Protocol):
    async def dial(self, request: DialRequest) -> DialFailure | None:
        """Ring the callee until they answer (None) or the call fails."""
        ...


class CallRecorder(Protocol):
    """Where a call's progress and payload go (``service.store.CallStore``)."""

    async def call_started(self, snapshot: Payload, *, worker_id: str) -> None: ...
    async def step_completed(self, call_id: str, step_id: str, snapshot: Payload) -> None: ...
    async def heartbeat(self, call_id: str) -> None: ...
    async def call_answered(self, call_id: str) -> None: ...
    async def do_not_call(self, number: str, *, call_id: str) -> None: ...
    async def call_finished(
        self, payload: Payload, *, sip_status: int | None = None, retryable: bool | None = None
    ) -> None: ...
