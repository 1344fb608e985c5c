"""Handing a caller to a human: the port the agent calls and its implementations.

- ``WarmTransferer`` (``sip.warm_transfer``) runs livekit's ``WarmTransferTask``: the
  human is dialed into a side room, hears a briefing, and is moved into the caller's room.
  The move (``MoveParticipant``) exists on LiveKit Cloud only.
- ``ColdTransferer`` hands the SIP call over with ``TransferSIPParticipant`` (a SIP
  REFER): no briefing, but it works on a self-hosted LiveKit server.
- ``ScriptedTransferer`` answers with what a scenario says the human does.

A failure never raises: it becomes the outcome the payload reports.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import aiohttp
from livekit import api

from flows.payload import TransferOutcome
from flows.spec import TransferReason

# SIP responses from the human's side: busy or not picking up is "no_answer",
# an explicit rejection is "declined"; anything else "failed".
_NO_ANSWER = frozenset({408, 480, 486, 487, 600})
_DECLINED = frozenset({603})


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


def outcome_for_sip_status(status: int | None) -> TransferOutcome:
    if status in _NO_ANSWER:
        return "no_answer"
    if status in _DECLINED:
        return "declined"
    return "failed"


@dataclass
class ScriptedTransferer:
    """Answers every transfer with a fixed outcome, and remembers what it was asked."""

    outcome: TransferOutcome = "connected"
    keeps_room: bool = True
    requests: list[TransferRequest] = field(default_factory=list)

    async def transfer(self, request: TransferRequest) -> TransferOutcome:
        self.requests.append(request)
        return self.outcome


class ColdTransferer:
    """Refers the caller's SIP call to the destination; the agent then leaves."""

    keeps_room = False

    def __init__(self, lkapi: api.LiveKitAPI, *, room_name: str, participant_identity: str) -> None:
        self._api = lkapi
        self._room_name = room_name
        self._identity = participant_identity

    async def transfer(self, request: TransferRequest) -> TransferOutcome:
        destination = request.to if request.to.startswith("sip:") else f"tel:{request.to}"
        try:
            await self._api.sip.transfer_sip_participant(
                api.TransferSIPParticipantRequest(
                    participant_identity=self._identity,
                    room_name=self._room_name,
                    transfer_to=destination,
                    play_dialtone=True,
                )
            )
        except api.SipCallError as exc:
            return outcome_for_sip_status(exc.sip_status_code)
        except (api.TwirpError, aiohttp.ClientError, TimeoutError):
            return "failed"
        return "connected"
