"""The outbound trunk named by a setting: an id is used as it is, a name (the telephony
file's) is looked up in LiveKit at each dial, against the local LiveKit server."""

from __future__ import annotations

from fakes.livekit_server import FakeLiveKitServer
from livekit import api

from flows.engine.ports import DialRequest
from sip.dialing import LiveKitDialer
from sip.trunks import outbound_trunk_id

CALLEE = "+14155550123"


async def make_trunk(lkapi: api.LiveKitAPI, name: str) -> str:
    trunk = api.SIPOutboundTrunkInfo(name=name, address="sip.example.com", numbers=["+18005550100"])
    created = await lkapi.sip.create_outbound_trunk(api.CreateSIPOutboundTrunkRequest(trunk=trunk))
    return created.sip_trunk_id


def request() -> DialRequest:
    return DialRequest(to=CALLEE, caller_id=None, room_name="call-1", participant_identity="callee")


async def test_an_id_is_used_as_it_is(livekit: FakeLiveKitServer, lkapi: api.LiveKitAPI) -> None:
    assert await outbound_trunk_id(lkapi.sip, "ST_abc") == "ST_abc"
    assert livekit.calls("ListSIPOutboundTrunk") == []


async def test_a_name_is_the_id_of_the_trunk_so_named(lkapi: api.LiveKitAPI) -> None:
    await make_trunk(lkapi, "other")
    wanted = await make_trunk(lkapi, "twilio-out")
    assert await outbound_trunk_id(lkapi.sip, "twilio-out") == wanted
    assert await outbound_trunk_id(lkapi.sip, "telnyx-out") is None


async def test_a_dial_by_name_goes_through_that_trunk(
    livekit: FakeLiveKitServer, lkapi: api.LiveKitAPI
) -> None:
    livekit.check_trunks = True
    wanted = await make_trunk(lkapi, "twilio-out")
    dialer = LiveKitDialer(lkapi, trunk="twilio-out", ringing_timeout=5)
    assert await dialer.dial(request()) is None
    (dial,) = livekit.calls("CreateSIPParticipant")
    assert dial.sip_trunk_id == wanted


async def test_a_name_not_provisioned_yet_fails_the_dial_for_a_retry(
    livekit: FakeLiveKitServer, lkapi: api.LiveKitAPI
) -> None:
    failure = await LiveKitDialer(lkapi, trunk="twilio-out", ringing_timeout=5).dial(request())
    assert failure is not None
    assert (failure.outcome, failure.retryable, failure.sip_status) == ("failed", True, None)
    assert failure.reason == "LiveKit has no outbound trunk named twilio-out"
    assert livekit.calls("CreateSIPParticipant") == []
