"""Driving a live call in tests: wait for the agent's question, answer, press keys.

Shared by the flow session tests and the worker job tests; the session is the real
livekit ``AgentSession`` and keys arrive as ``sip_dtmf_received`` events on the room.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, cast

from livekit import rtc
from livekit.agents import AgentSession, llm
from livekit.rtc._proto import handle_pb2, participant_pb2

from flows.engine.call import Call


@dataclass
class LiveCall:
    call: Call
    session: AgentSession[None]
    room: rtc.Room

    async def asked(self, path: str, *, timeout: float = 5.0) -> None:
        """Wait until the agent has asked ``path`` and is listening."""
        async with asyncio.timeout(timeout):
            while not self._asking(path):
                await asyncio.sleep(0.002)

    def _asking(self, path: str) -> bool:
        pending = self.call.collector.pending
        return (
            pending is not None
            and pending.path == path
            and self.session.agent_state == "listening"
            and self.session.current_agent is cast(object, self.call.active)
        )

    async def say(self, words: str) -> Any:
        return await self.session.run(user_input=words)

    def press(self, keys: str) -> None:
        for key in keys:
            self.room.emit("sip_dtmf_received", rtc.SipDTMF(code=0, digit=key))

    async def ended(self, *, timeout: float = 5.0) -> None:
        async with asyncio.timeout(timeout):
            while not self.call.ended:
                await asyncio.sleep(0.002)


def sip_participant(identity: str = "sip_caller", **attributes: str) -> rtc.RemoteParticipant:
    """A SIP participant as the room reports it, with LiveKit SIP's attributes."""
    info = participant_pb2.ParticipantInfo(
        sid="PA_test", identity=identity, kind=participant_pb2.ParticipantKind.PARTICIPANT_KIND_SIP
    )
    info.attributes.update(attributes)
    owned = participant_pb2.OwnedParticipant(handle=handle_pb2.FfiOwnedHandle(id=0), info=info)
    return rtc.RemoteParticipant(owned)


def last_message(result: Any) -> llm.ChatMessage | None:
    messages = [e.item for e in result.events if e.type == "message"]
    return messages[-1] if messages else None
