"""Handing a caller to a human: implementations of ``flows.engine.ports.Transferer``.

- ``WarmTransferer`` (``sip.warm_transfer``) runs livekit's ``WarmTransferTask``: the
  human is dialed into a side room, hears a briefing, and is moved into the caller's room.
  The move (``MoveParticipant``) exists on LiveKit Cloud only.
- ``ColdTransferer`` hands the SIP call over with ``TransferSIPParticipant`` (a SIP
  REFER): no briefing, but it works on a self-hosted LiveKit server.
- ``flows.testing.callers.ScriptedTransferer`` answers as a scenario says the human does.

A failure never raises: it becomes the outcome the payload reports.
"""

from __future__ import annotations

import asyncio

import structlog
from livekit import api

from flows.engine.outcomes import TransferFailure, TransferOutcome
from flows.engine.ports import TransferRequest
from sip.livekit_errors import LIVEKIT_REQUEST_ERRORS
from sip.statuses import REQUEST_MARGIN, transfer_failure, transfer_result

log = structlog.get_logger("intake.transfer")


class ColdTransferer:
    """Refers the caller's SIP call to the destination; the agent then leaves.

    TransferSIPParticipant rings the destination for the ringing timeout and answers when
    the transfer is over: an error, or a 200 whose body says whether it completed.
    """

    keeps_room = False

    def __init__(
        self,
        lkapi: api.LiveKitAPI,
        *,
        room_name: str,
        participant_identity: str,
        ringing_timeout: float,
    ) -> None:
        self._api = lkapi
        self._room_name = room_name
        self._identity = participant_identity
        self._ringing_timeout = ringing_timeout

    async def transfer(self, request: TransferRequest) -> TransferOutcome:
        destination = request.to if request.to.startswith("sip:") else f"tel:{request.to}"
        refer = api.TransferSIPParticipantRequest(
            participant_identity=self._identity,
            room_name=self._room_name,
            transfer_to=destination,
            play_dialtone=True,
        )
        refer.ringing_timeout.FromNanoseconds(int(self._ringing_timeout * 1e9))
        try:
            # The caller is on hold meanwhile: bound the wait (see REQUEST_MARGIN).
            async with asyncio.timeout(self._ringing_timeout + REQUEST_MARGIN):
                response = await self._api.sip.transfer_sip_participant(refer)
        except LIVEKIT_REQUEST_ERRORS as exc:
            error = exc.code if isinstance(exc, api.ServerError) else type(exc).__name__
            return _failed(transfer_failure(exc), error=error)
        failure = transfer_result(response)
        return "connected" if failure is None else _failed(failure, error=None)


def _failed(failure: TransferFailure, *, error: str | None) -> TransferOutcome:
    """Log why a cold transfer did not connect (``error``: the Twirp code or exception type;
    None when a 200 said so), and return its outcome."""
    log.info(
        "transfer.refer_failed",
        outcome=failure.outcome,
        sip_status=failure.sip_status,
        reason=failure.reason,
        error=error,
    )
    return failure.outcome
