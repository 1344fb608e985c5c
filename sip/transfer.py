"""Handing a caller to a human: the port the agent calls, and a scripted stand-in.

The live implementation wraps livekit's ``WarmTransferTask`` (worker issue); the scripted
one answers with what a scenario says the human does, so simulations cover every outcome.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from flows.payload import TransferOutcome
from flows.spec import TransferReason


@dataclass(frozen=True)
class TransferRequest:
    to: str
    reason: TransferReason
    briefing: str  # what was collected, sensitive fields left out


class Transferer(Protocol):
    async def transfer(self, request: TransferRequest) -> TransferOutcome: ...


@dataclass
class ScriptedTransferer:
    """Answers every transfer with a fixed outcome, and remembers what it was asked."""

    outcome: TransferOutcome = "connected"
    requests: list[TransferRequest] | None = None

    async def transfer(self, request: TransferRequest) -> TransferOutcome:
        if self.requests is not None:
            self.requests.append(request)
        return self.outcome
