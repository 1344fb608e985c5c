"""The one module that touches livekit-agents' private APIs (of livekit-agents 1.8.9).

Each use is pinned by a test, so an upgrade that changes one fails there first:

- ``JobContext._on_cleanup`` (tests/flows/test_livekit_private.py): what the worker's job
  runner does when a job ends; ``fake_job_context`` leaves it to whoever runs the job.
- ``WarmTransferTask._set_result``, ``_merge_calls``, ``_originate_human_agent``,
  ``_human_agent_failed_fut``, ``_human_agent_sess`` (tests/sip/test_warm_transfer.py):
  a phone transfer must learn why the human's leg failed and be able to give up.
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog
from livekit import rtc
from livekit.agents import JobContext
from livekit.agents.beta.workflows import WarmTransferTask
from livekit.agents.llm import StopResponse, ToolError

log = structlog.get_logger("intake.transfer")

MERGE_FAILED = "the human could not be brought into the call"


async def clean_up_job(job: JobContext) -> None:
    """Remove the job's temporary directory, as the worker does when a job ends."""
    await job._on_cleanup()


class PhoneWarmTransferTask(WarmTransferTask):
    """livekit's warm transfer, telling why it failed and able to give up on demand."""

    # What dialing the human raised (the task itself only says "could not dial human
    # agent"): a ringing timeout carries no SIP status, so the whole error is kept.
    dial_error: Exception | None = None
    merge_failed = False

    async def _originate_human_agent(
        self, *, room_name: str, identity: str, room: rtc.Room
    ) -> None:
        try:
            await super()._originate_human_agent(room_name=room_name, identity=identity, room=room)
        except Exception as exc:
            self.dial_error = exc
            raise

    async def _merge_calls(self) -> None:
        # Unguarded, a refused MoveParticipant only tells the human's model that its tool
        # failed: the caller stays on hold for good.
        try:
            await super()._merge_calls()
        except Exception as exc:
            log.warning("transfer.merge_failed", error=type(exc).__name__)
            self.merge_failed = True
            self._set_result(ToolError(MERGE_FAILED))
            raise StopResponse() from None

    @property
    def human_answered(self) -> bool:
        return self._human_agent_sess is not None

    def abandon(self, reason: str) -> None:
        """End the transfer now: hold music stops, the caller is back with the agent, and
        a human leg still ringing stops waiting (its room is deleted by the caller)."""
        if self.done():
            return
        with contextlib.suppress(asyncio.InvalidStateError):
            self._human_agent_failed_fut.set_result(None)
        self._set_result(ToolError(reason))
