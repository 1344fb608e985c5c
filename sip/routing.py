"""Inbound calls: which flow a dialed number runs, and who is calling.

LiveKit SIP puts the numbers on the caller's participant as attributes:
``sip.trunkPhoneNumber`` (the number dialed) and ``sip.phoneNumber`` (the caller,
absent when the number is withheld).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass

from livekit import rtc

from flows.engine import parsers
from flows.errors import AnswerError
from sip.errors import RoutingError

DIALED_NUMBER = "sip.trunkPhoneNumber"
CALLER_NUMBER = "sip.phoneNumber"


@dataclass(frozen=True)
class InboundRoute:
    flow: str
    caller: str | None  # E.164, None if withheld
    dialed: str | None


def route_inbound(
    attributes: Mapping[str, str],
    routes: Mapping[str, str],
    default_flow: str | None,
    *,
    region: str,
) -> InboundRoute:
    dialed = _e164(attributes.get(DIALED_NUMBER), region)
    caller = _e164(attributes.get(CALLER_NUMBER), region)
    flow = routes.get(dialed or "", default_flow)
    if flow is None:
        raise RoutingError(
            f"no flow for dialed number {dialed or 'unknown'}: add it to INTAKE_ROUTES "
            "or set INTAKE_DEFAULT_FLOW"
        )
    return InboundRoute(flow=flow, caller=caller, dialed=dialed)


def _e164(number: str | None, region: str) -> str | None:
    if not number:
        return None
    try:
        return parsers.parse_phone(number, region=region)
    except AnswerError:
        return None  # an unusual caller id is not a reason to drop the call


async def wait_for_sip_participant(room: rtc.Room) -> rtc.RemoteParticipant:
    """The caller's SIP participant, already in the room or the next to join."""
    for participant in room.remote_participants.values():
        if participant.kind == rtc.ParticipantKind.PARTICIPANT_KIND_SIP:
            return participant
    joined: asyncio.Future[rtc.RemoteParticipant] = asyncio.get_running_loop().create_future()

    def on_connected(participant: rtc.RemoteParticipant) -> None:
        if participant.kind == rtc.ParticipantKind.PARTICIPANT_KIND_SIP and not joined.done():
            joined.set_result(participant)

    room.on("participant_connected", on_connected)
    try:
        return await joined
    finally:
        room.off("participant_connected", on_connected)
