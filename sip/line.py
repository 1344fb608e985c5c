"""The phone line of a call: the LiveKit room every leg of it is in.

Hanging up is deleting the room: LiveKit then disconnects every participant, and the SIP
service sends BYE to each phone leg. After a warm transfer the caller and the human talk
in that room without the agent, so the line stays up until one of them leaves; then it is
hung up, so that nobody is left on a silent line.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

import structlog
from livekit import api, rtc

from sip.livekit_errors import LIVEKIT_UNREACHABLE

log = structlog.get_logger("intake.line")

# Who counts as a person on the line: phone legs and web callers, not agents or egress.
PEOPLE = frozenset(
    {rtc.ParticipantKind.PARTICIPANT_KIND_SIP, rtc.ParticipantKind.PARTICIPANT_KIND_STANDARD}
)


class Line(Protocol):
    async def hang_up(self) -> None:
        """End the call for everyone on it; a line already gone is not an error."""
        ...


class RoomLine:
    """``DeleteRoom`` through livekit-api."""

    def __init__(self, lkapi: api.LiveKitAPI, room_name: str) -> None:
        self._api, self._room_name = lkapi, room_name

    async def hang_up(self) -> None:
        try:
            await self._api.room.delete_room(api.DeleteRoomRequest(room=self._room_name))
        except api.ServerError as exc:
            if exc.code != api.ServerErrorCode.NOT_FOUND:  # already gone: every leg is off
                log.warning("line.hang_up_failed", code=exc.code, status=exc.status)
        except LIVEKIT_UNREACHABLE as exc:
            log.warning("line.hang_up_failed", error=type(exc).__name__)


async def until_someone_leaves(room: rtc.Room, *, already_left: bool = False) -> str:
    """Wait, after a warm transfer, until the caller or the human leaves (or the room goes);
    returns what happened, for the log."""
    if already_left:
        return "caller_left"
    done: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    def left(participant: rtc.RemoteParticipant) -> None:
        if participant.kind in PEOPLE and not done.done():
            done.set_result("participant_left")

    def closed(*_args: object) -> None:
        if not done.done():
            done.set_result("room_closed")

    room.on("participant_disconnected", left)
    room.on("disconnected", closed)
    try:
        return await done
    finally:
        room.off("participant_disconnected", left)
        room.off("disconnected", closed)
