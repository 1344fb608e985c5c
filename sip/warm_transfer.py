"""Warm transfer: livekit's ``WarmTransferTask``, with what a phone line needs beyond it.

The human is dialed into a side room while the caller hears hold music, is briefed, and is
moved into the caller's room (``MoveParticipant``: LiveKit Cloud only). Added here:

- a time limit on the whole transfer (ringing, briefing, merge): past it the caller is
  taken off hold, the human's leg is hung up, and the caller is told someone will call back;
- a merge that fails (a server without ``MoveParticipant``) does the same instead of
  leaving the caller on hold with nobody coming;
- the failure of the human's leg is kept and read with ``sip.statuses``, so "nobody picked
  up" (a ringing timeout has no SIP status) is told from "refused".

What reaches into ``WarmTransferTask``'s private members lives in
``flows.agent.livekit_private``, the one module that touches livekit's private APIs.
"""

from __future__ import annotations

import asyncio

import structlog
from livekit.agents.beta.workflows import WorkflowInstructions
from livekit.agents.llm import ToolError
from livekit.api.sip_service import SipService

from flows.agent.livekit_private import PhoneWarmTransferTask
from flows.engine.outcomes import TransferOutcome
from flows.engine.ports import TransferRequest
from sip.line import Line
from sip.livekit_errors import LIVEKIT_REQUEST_ERRORS
from sip.statuses import transfer_failure
from sip.trunks import outbound_trunk_id

log = structlog.get_logger("intake.transfer")

HUMAN_ROOM_SUFFIX = "-human-agent"  # WarmTransferTask's side room: "<caller room>-human-agent"
TIMED_OUT = "the transfer took too long"
NOT_STARTED = "the transfer could not start"


class WarmTransferer:
    """Runs the warm transfer; must be awaited from the root agent's context."""

    keeps_room = True

    def __init__(
        self,
        *,
        trunk: str | None,
        ringing_timeout: float,
        time_limit: float,
        human_room: Line,
        sip: SipService | None = None,
    ) -> None:
        self._trunk = trunk  # an id, or a name looked up through ``sip`` (sip.trunks)
        self._sip = sip
        self._ringing_timeout = ringing_timeout
        self._time_limit = time_limit
        self._human_room = human_room  # hung up when a transfer is given up

    async def transfer(self, request: TransferRequest) -> TransferOutcome:
        trunk_id = self._trunk
        if trunk_id is not None and self._sip is not None:
            try:
                trunk_id = await outbound_trunk_id(self._sip, trunk_id)
            except LIVEKIT_REQUEST_ERRORS as exc:
                log.info("transfer.not_connected", outcome="failed", why="trunk_lookup")
                return transfer_failure(exc).outcome
            if trunk_id is None:
                log.info("transfer.not_connected", outcome="failed", why="no_trunk")
                return "failed"
        # The human is briefed from our summary, not the raw conversation, which may
        # hold sensitive answers.
        task = PhoneWarmTransferTask(
            request.to,
            sip_trunk_id=trunk_id,
            ringing_timeout=self._ringing_timeout,
            instructions=WorkflowInstructions(extra=f"Briefing for the human: {request.briefing}"),
        )
        timer = asyncio.get_running_loop().call_later(self._time_limit, task.abandon, TIMED_OUT)
        try:
            await task
        except Exception as exc:  # the task's ToolError, or its on_enter failing outright
            message = exc.message if isinstance(exc, ToolError) else NOT_STARTED
            if not task.done():  # e.g. the hold music could not start: release the caller
                task.abandon(message)
            outcome = self._failure(task, message)
            await self._human_room.hang_up()  # nobody is left ringing or waiting there
            log.info("transfer.not_connected", outcome=outcome, why=_why(task, message))
            return outcome
        finally:
            timer.cancel()
        return "connected"

    @staticmethod
    def _failure(task: PhoneWarmTransferTask, message: str) -> TransferOutcome:
        if "declined" in message:
            return "declined"
        if message == TIMED_OUT:
            return "failed" if task.human_answered else "no_answer"
        if task.dial_error is not None:
            return transfer_failure(task.dial_error).outcome
        return "no_answer" if "timeout" in message.lower() else "failed"


def _why(task: PhoneWarmTransferTask, message: str) -> str:
    """A fixed vocabulary for the log (the human's own words to the model are not logged)."""
    if task.merge_failed:
        return "merge_failed"
    if message == TIMED_OUT:
        return "time_limit"
    if "declined" in message:
        return "declined"
    if message == NOT_STARTED:
        return "not_started"
    return "dial_failed"
