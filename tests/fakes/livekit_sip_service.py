"""LiveKit's SIP service for the local server: dials and transfers (trunks and dispatch
rules are :mod:`fakes.livekit_sip_trunks`' and :mod:`fakes.livekit_sip_rules`').

Mixed into :class:`fakes.livekit_server.FakeLiveKitServer`, whose rooms it joins callees to
and takes transferred callers from. Each way a dial or transfer ends is scripted by the test;
the errors are the real ones (:mod:`fakes.livekit_sip`), and so are the timings that matter:
an unanswered dial ends exactly at its ``ringing_timeout`` (or at livekit-server's 80 s cap
on a waiting dial, ``server_deadline``), an unanswered transfer at its ``ringing_timeout``.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import Any

from livekit.protocol import sip

from fakes import livekit_sip as shapes
from fakes.livekit_sip import Hangs, Unanswered
from fakes.twirp import TwirpError, invalid_unless, new_id, rpc

DialScript = TwirpError | Unanswered
TransferEnd = TwirpError | sip.TransferSIPParticipantResponse | Unanswered | Hangs
TransferScript = Callable[[str], TransferEnd]  # given the transfer's id

# livekit/protocol's validation messages.
_NO_TRUNK = "missing sip trunk id and sip number"
_SIP_URI_AS_NUMBER = "SipCallTo should be a phone number or SIP user, not a full SIP URI"
_BAD_TRANSFER_TO = "transfer_to must be a valid SIP(s) or TEL URI (sip:, sips: or tel:)"


class SipService:
    """The SIP half of the fake server; ``participants``, ``_participant`` and
    ``add_participant`` are the room half's.

    Dials answer after ``answer_delay`` unless scripted (:meth:`script_dial`,
    :meth:`fail_sip`), transfers complete unless scripted (:meth:`script_transfer`,
    :meth:`fail_transfer`). Switches: ``check_trunks`` (a dial must name a trunk made with
    CreateSIPOutboundTrunk), ``sip_service`` (False: no SIP node answers), ``server_deadline``
    and ``legacy_transfer`` (a completed transfer's 200 is empty, as before livekit/sip#807).
    """

    participants: dict[str, set[str]]
    outbound_trunks: dict[str, sip.SIPOutboundTrunkInfo]  # livekit_sip_trunks.SipTrunks'
    add_participant: Callable[[str, str], None]
    _participant: Callable[[str, str], set[str]]

    def __init__(self, **kwargs: Any) -> None:
        self.answer_delay = 0.0  # seconds of ringing before a wait_until_answered dial is answered
        self.server_deadline = 80.0  # livekit-server's psrpc timeout for a waiting dial
        self.check_trunks = False
        self.sip_service = True
        self.legacy_transfer = False
        self._dials: dict[str, DialScript] = {}
        self._transfer_script: TransferScript | None = None
        super().__init__(**kwargs)

    def script_dial(self, number: str, outcome: DialScript) -> None:
        """How dials to ``number`` (``sip_call_to``) end: with this error (e.g. from
        :mod:`fakes.livekit_sip`) or, for :class:`Unanswered`, at the ringing timeout. As on
        the real server only a ``wait_until_answered`` dial hears of it; without waiting the
        dial "succeeds" (the call then fails in the background) and no participant joins."""
        self._dials[number] = outcome

    def fail_sip(self, number: str, status_code: int, reason: str | None = None) -> None:
        """Dials to ``number`` end with this SIP final response (``reason`` None: the usual
        phrase; "": none, so the server names the status code instead)."""
        self.script_dial(number, shapes.invite_failure(status_code, reason))

    def script_transfer(self, outcome: TransferScript) -> None:
        """How every TransferSIPParticipant from now on ends, given its transfer id: an
        error, a 200 body (e.g. ``livekit_sip.transfer_call_ended``), :class:`Unanswered`
        or :class:`Hangs`."""
        self._transfer_script = outcome

    def fail_transfer(
        self,
        status_code: int,
        reason: str | None = None,
        *,
        refer: bool = False,
        transfer_reason: str = "STR_REJECTED",
    ) -> None:
        """Transfers fail with this SIP status: the destination's, in the final NOTIFY
        ("call transfer failed: ..."), or with ``refer`` the carrier's answer to the REFER."""
        self.script_transfer(
            lambda transfer_id: shapes.transfer_failure(
                status_code,
                reason,
                transfer_id=transfer_id,
                refer=refer,
                transfer_reason=transfer_reason,
            )
        )

    @rpc("SIP", "CreateSIPParticipant", "sip.call")
    async def _dial(self, req: sip.CreateSIPParticipantRequest) -> sip.SIPParticipantInfo:
        invalid_unless(  # CreateSIPParticipantRequest.Validate in livekit/protocol
            (req.sip_trunk_id or req.HasField("trunk") or req.sip_number, _NO_TRUNK),
            (req.sip_call_to, "missing sip callee number"),
            ("@" not in req.sip_call_to, _SIP_URI_AS_NUMBER),
            (req.room_name, "missing room name"),
        )
        if self.check_trunks and req.sip_trunk_id:
            trunk = self.outbound_trunks.get(req.sip_trunk_id)
            if trunk is None:
                raise shapes.TRUNK_NOT_FOUND
            if not trunk.numbers and not req.sip_number:
                raise shapes.NO_TRUNK_NUMBERS
        if not self.sip_service:
            raise shapes.NO_SIP_SERVICE
        outcome = self._dials.get(req.sip_call_to)
        if req.wait_until_answered:
            ringing = shapes.ringing_timeout(req)
            unanswered = isinstance(outcome, Unanswered) or self.answer_delay >= ringing
            await self._wait(ringing if unanswered else self.answer_delay)
            if unanswered:
                raise shapes.RINGING_TIMEOUT
            if isinstance(outcome, TwirpError):
                raise outcome
        identity = req.participant_identity or f"sip_{req.sip_call_to}"
        if outcome is None:
            self.add_participant(req.room_name, identity)
        return sip.SIPParticipantInfo(
            participant_id=new_id("PA_"),
            participant_identity=identity,
            room_name=req.room_name,
            sip_call_id=new_id("SCL_"),
        )

    async def _wait(self, seconds: float) -> None:
        """A waiting dial's ringing; past livekit-server's own deadline, that deadline ends it."""
        if seconds >= self.server_deadline:
            await asyncio.sleep(self.server_deadline)
            raise shapes.SERVER_DEADLINE
        await asyncio.sleep(seconds)

    @rpc("SIP", "TransferSIPParticipant", "sip.call", "roomAdmin")
    async def _transfer(
        self, req: sip.TransferSIPParticipantRequest
    ) -> sip.TransferSIPParticipantResponse:
        invalid_unless(  # the server's own checks (psrpc errors) ...
            (req.room_name, "Missing room name"),
            (req.participant_identity, "Missing participant identity"),
            psrpc=True,
        )
        invalid_unless(  # ... then TransferSIPParticipantRequest.Validate (Twirp errors)
            (req.transfer_to, "missing transfer to"),
            (re.match(r"<?(sips?|tel):", req.transfer_to), _BAD_TRANSFER_TO),
        )
        in_room = self._participant(req.room_name, req.participant_identity)
        if not self.sip_service:
            raise shapes.NO_SIP_SERVICE  # nobody holds the call's topic
        transfer_id = new_id("STR_")
        script = self._transfer_script
        outcome = script(transfer_id) if script else None
        if isinstance(outcome, Hangs):
            await asyncio.Event().wait()  # until the client gives up and cancels the request
            raise AssertionError("a hanging transfer never answers")
        if isinstance(outcome, Unanswered):
            await asyncio.sleep(shapes.ringing_timeout(req))  # the whole RPC's timeout
            raise shapes.BRIDGE_DEADLINE if outcome.bridge_wins else shapes.SERVER_DEADLINE
        if isinstance(outcome, TwirpError):
            raise outcome
        if outcome is not None:
            if outcome.reason == sip.STR_CALL_ENDED:
                in_room.discard(req.participant_identity)  # the caller hung up meanwhile
            return outcome
        in_room.discard(req.participant_identity)  # the caller is handed off
        if self.legacy_transfer:
            return sip.TransferSIPParticipantResponse()
        return shapes.transfer_completed(transfer_id)
