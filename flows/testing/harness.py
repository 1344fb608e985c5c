"""The one way to run a call in-process: a fake job, a text session, the offline engine.

No LiveKit server, network or keys: the job runs under livekit's ``fake_job_context`` with
an unconnected ``rtc.Room``, the session has no audio (text in, text out, turns ended by
whoever drives it), and keys go straight to the call's keypad collector. The simulator,
``intake console`` and the tests all start calls here.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from livekit import rtc
from livekit.agents import AgentSession, JobContext, llm
from livekit.agents.testing import fake_job_context

from flows.agent.livekit_private import clean_up_job
from flows.agent.offline import OfflineLLM
from flows.agent.root import IntakeAgent
from flows.engine.call import Call
from flows.engine.keypad import KeypadCollector


def text_session(model: llm.LLM[Any]) -> AgentSession[None]:
    """A session with no audio: text in, text out, turns ended by whoever drives it."""
    return AgentSession[None](
        llm=model, vad=None, turn_handling={"turn_detection": "manual"}, user_away_timeout=None
    )


@contextlib.asynccontextmanager
async def fake_job(
    room: rtc.Room | None = None, *, job_id: str = "fake-job", metadata: str = ""
) -> AsyncIterator[JobContext]:
    """livekit's ``fake_job_context``, cleaned up afterwards as the worker would."""
    with fake_job_context(room=room or rtc.Room(), job_id=job_id, job_metadata=metadata) as job:
        try:
            yield job
        finally:
            await clean_up_job(job)


@dataclass
class OfflineCall:
    """A started call: its session, its room and its keypad."""

    call: Call
    session: AgentSession[None]
    room: rtc.Room
    keypad: KeypadCollector

    async def start(self) -> None:
        """Start the root agent; whoever listens to the call attaches first."""
        await self.session.start(IntakeAgent(self.call))

    def press(self, keys: str) -> None:
        """The caller keys ``keys``; the entry ends as the inter-digit timeout would end it."""
        for key in keys:
            self.keypad.press(key)
        self.keypad.flush()


@contextlib.asynccontextmanager
async def offline_call(
    call: Call, *, model: llm.LLM[Any] | None = None
) -> AsyncIterator[OfflineCall]:
    """``call`` in a text session, ready to ``start``; ``model`` defaults to the offline
    engine (tests pass the OpenAI plugin against a local server)."""
    room = rtc.Room()
    async with fake_job(room, job_id=call.info.job_id):
        keypad = KeypadCollector(
            lambda entry: call.keypad(entry.digits), max_length=call.keypad_entry_length
        )
        session = text_session(model or OfflineLLM(call.collector))
        try:
            yield OfflineCall(call, session, room, keypad)
        finally:
            keypad.close()
            await session.aclose()
