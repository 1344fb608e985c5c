"""The local server's SIP answers are LiveKit's: the bodies byte for byte as published in
issues and traced from the Go source, and what the real livekit-api client makes of them."""

from __future__ import annotations

import time

import aiohttp
import pytest
from google.protobuf.message import Message
from livekit import api
from livekit.protocol import sip

from fakes import livekit_sip as shapes
from fakes.livekit_server import FakeLiveKitServer
from fakes.livekit_sip import Unanswered
from fakes.twirp import error_details, relayed

CALLEE = "+14155550123"
ROOM = "call-1"

# Bodies LiveKit sent (livekit/python-sdks#479, #472) or that livekit/sip's code produces.
INVITE_400_DETAILS = (  # python-sdks#479: a 400 without a reason phrase
    "CAMSLElOVklURSBmYWlsZWQ6IHNpcCBzdGF0dXM6IDQwMCAoQkFEX1JFUVVFU1QpGiwKJXR5cGUuZ29vZ2xlYXBp"
    "cy5jb20vbGl2ZWtpdC5TSVBTdGF0dXMSAwiQAw=="
)
INVITE_500_DETAILS = (  # python-sdks#472: a 500 under the code mapping before Nov 2025
    "CA0ST3VuZXhwZWN0ZWQgc3RhdHVzIGZyb20gSU5WSVRFIHJlc3BvbnNlOiBzaXAgc3RhdHVzOiA1MDAgKElOVEVS"
    "TkFMX1NFUlZFUl9FUlJPUikaLAoldHlwZS5nb29nbGVhcGlzLmNvbS9saXZla2l0LlNJUFN0YXR1cxIDCPQD"
)
BUSY_BODY = (
    b'{"code":"failed_precondition","msg":"twirp error unknown: INVITE failed: sip status: 486:'
    b' Busy Here","meta":{"error_details":"CAkSKUlOVklURSBmYWlsZWQ6IHNpcCBzdGF0dXM6IDQ4NjogQnVz'
    b"eSBIZXJlGjcKJXR5cGUuZ29vZ2xlYXBpcy5jb20vbGl2ZWtpdC5TSVBTdGF0dXMSDgjmAxIJQnVzeSBIZXJl"
    b'","sip_status":"Busy Here","sip_status_code":"486"}}'
)
DECLINE_BODY = (
    b'{"code":"permission_denied","msg":"twirp error unknown: unexpected status from INVITE '
    b'response: sip status: 603: Decline","meta":{"error_details":"CAcSQHVuZXhwZWN0ZWQgc3RhdHVz'
    b"IGZyb20gSU5WSVRFIHJlc3BvbnNlOiBzaXAgc3RhdHVzOiA2MDM6IERlY2xpbmUaNQoldHlwZS5nb29nbGVhcGlz"
    b'LmNvbS9saXZla2l0LlNJUFN0YXR1cxIMCNsEEgdEZWNsaW5l","sip_status":"Decline",'
    b'"sip_status_code":"603"}}'
)
TIMEOUT_408_BODY = (
    b'{"code":"deadline_exceeded","msg":"twirp error unknown: unexpected status from INVITE '
    b'response: sip status: 408: Request Timeout","meta":{"error_details":"CAQSSHVuZXhwZWN0ZWQg'
    b"c3RhdHVzIGZyb20gSU5WSVRFIHJlc3BvbnNlOiBzaXAgc3RhdHVzOiA0MDg6IFJlcXVlc3QgVGltZW91dBo9CiV0"
    b'eXBlLmdvb2dsZWFwaXMuY29tL2xpdmVraXQuU0lQU3RhdHVzEhQImAMSD1JlcXVlc3QgVGltZW91dA==",'
    b'"sip_status":"Request Timeout","sip_status_code":"408"}}'
)
RINGING_TIMEOUT_BODY = b'{"code":"canceled","msg":"twirp error unknown: sip request timed out"}'


def dial(
    ringing: float | None = None, *, trunk: str = "ST_test"
) -> sip.CreateSIPParticipantRequest:
    request = sip.CreateSIPParticipantRequest(
        sip_trunk_id=trunk,
        sip_call_to=CALLEE,
        room_name=ROOM,
        participant_identity="caller",
        wait_until_answered=True,
    )
    if ringing is not None:
        request.ringing_timeout.FromNanoseconds(int(ringing * 1e9))
    return request


def refer() -> sip.TransferSIPParticipantRequest:
    return sip.TransferSIPParticipantRequest(
        room_name=ROOM, participant_identity="caller", transfer_to="tel:+18005550100"
    )


async def post(livekit: FakeLiveKitServer, method: str, message: Message) -> tuple[int, str, bytes]:
    """The raw response (status, Content-Type, body) to a SIP request with the call grant."""
    token = api.AccessToken(livekit.api_key, livekit.api_secret)
    token.with_sip_grants(api.SIPGrants(call=True))
    token.with_grants(api.VideoGrants(room_admin=True, room=ROOM))
    headers = {
        "Authorization": f"Bearer {token.to_jwt()}",
        "Content-Type": "application/protobuf",
    }
    url = f"{livekit.url}/twirp/livekit.SIP/{method}"
    async with (
        aiohttp.ClientSession() as http,
        http.post(url, data=message.SerializeToString(), headers=headers) as response,
    ):
        return response.status, response.headers["Content-Type"], await response.read()


def test_error_details_reproduce_what_livekit_sent() -> None:
    bad_request = sip.SIPStatus(code=400, status="")  # type: ignore[arg-type]
    message = "INVITE failed: sip status: 400 (BAD_REQUEST)"
    assert error_details("invalid_argument", message, [bad_request]) == INVITE_400_DETAILS
    server_error = sip.SIPStatus(code=500, status="")  # type: ignore[arg-type]
    message = "unexpected status from INVITE response: sip status: 500 (INTERNAL_SERVER_ERROR)"
    assert error_details("internal", message, [server_error]) == INVITE_500_DETAILS


@pytest.mark.parametrize(
    ("sip_code", "http_status", "body"),
    [(486, 412, BUSY_BODY), (603, 403, DECLINE_BODY), (408, 408, TIMEOUT_408_BODY)],
)
async def test_sip_failure_bodies_byte_for_byte(
    livekit: FakeLiveKitServer, sip_code: int, http_status: int, body: bytes
) -> None:
    livekit.fail_sip(CALLEE, sip_code)
    sent = await post(livekit, "CreateSIPParticipant", dial())
    assert sent == (http_status, "application/json", body)


async def test_a_reasonless_failure_is_what_python_sdks_479_saw(
    livekit: FakeLiveKitServer, lkapi: api.LiveKitAPI
) -> None:
    livekit.fail_sip(CALLEE, 400, "")
    with pytest.raises(api.SipCallError) as caught:
        await lkapi.sip.create_sip_participant(dial())
    error = caught.value
    assert (error.code, error.status) == ("invalid_argument", 400)
    assert error.message == "twirp error unknown: INVITE failed: sip status: 400 (BAD_REQUEST)"
    assert error.metadata == {
        "error_details": INVITE_400_DETAILS,
        "sip_status": "SIP_STATUS_BAD_REQUEST",
        "sip_status_code": "400",
    }


@pytest.mark.parametrize(
    ("sip_code", "phrase", "twirp_code", "http_status", "context"),
    [
        (486, "Busy Here", "failed_precondition", 412, "INVITE failed"),  # protocol#1766
        (480, "Temporarily Unavailable", "failed_precondition", 412, "INVITE failed"),
        (600, "Busy Everywhere", "resource_exhausted", 429, "unexpected status"),
        (603, "Decline", "permission_denied", 403, "unexpected status"),
        (604, "Does Not Exist Anywhere", "not_found", 404, "unexpected status"),
        (410, "Gone", "not_found", 404, "unexpected status"),
        (404, "Not Found", "not_found", 404, "INVITE failed"),
        (487, "Request Terminated", "aborted", 409, "unexpected status"),
        (484, "Address Incomplete", "invalid_argument", 400, "unexpected status"),
        (503, "Service Unavailable", "failed_precondition", 412, "unexpected status"),
        (504, "", "deadline_exceeded", 408, "unexpected status"),
        (580, "Precondition Failure", "failed_precondition", 412, "unexpected status"),
    ],
)
async def test_a_failed_dial_is_a_sip_call_error(
    livekit: FakeLiveKitServer,
    lkapi: api.LiveKitAPI,
    sip_code: int,
    phrase: str,
    twirp_code: str,
    http_status: int,
    context: str,
) -> None:
    livekit.fail_sip(CALLEE, sip_code, phrase)
    with pytest.raises(api.SipCallError) as caught:
        await lkapi.sip.create_sip_participant(dial())
    error = caught.value
    status_name = "SIP_STATUS_GATEWAY_TIMEOUT" if sip_code == 504 else phrase
    assert (error.sip_status_code, error.sip_status) == (sip_code, status_name)
    assert (error.code, error.status) == (twirp_code, http_status)
    assert error.message.startswith(f"twirp error unknown: {context}")
    assert len(livekit.requests) == 1  # a 4xx is final: no retry, no failover
    assert ROOM not in livekit.participants


async def test_ringing_ends_exactly_at_the_ringing_timeout_without_a_sip_status(
    livekit: FakeLiveKitServer, lkapi: api.LiveKitAPI
) -> None:
    livekit.script_dial(CALLEE, Unanswered())
    started = time.monotonic()
    with pytest.raises(api.ServerError) as caught:
        await lkapi.sip.create_sip_participant(dial(0.2))
    assert 0.2 <= time.monotonic() - started < 0.5
    error = caught.value
    assert not isinstance(error, api.SipCallError)
    assert (error.code, error.status, error.metadata) == ("canceled", 408, {})
    assert error.message == "twirp error unknown: sip request timed out"
    assert await post(livekit, "CreateSIPParticipant", dial(0.05)) == (
        408,
        "application/json",
        RINGING_TIMEOUT_BODY,
    )


async def test_livekit_servers_own_deadline_ends_a_longer_ringing(
    livekit: FakeLiveKitServer, lkapi: api.LiveKitAPI
) -> None:
    livekit.script_dial(CALLEE, Unanswered())
    livekit.server_deadline = 0.1  # 80 s on the real server
    with pytest.raises(api.ServerError) as caught:
        await lkapi.sip.create_sip_participant(dial(0.5))
    error = caught.value
    assert (error.code, error.status, error.metadata) == ("deadline_exceeded", 408, {})
    assert error.message == "twirp error unknown: request timed out"


async def test_an_answer_slower_than_the_ringing_timeout_is_no_answer(
    livekit: FakeLiveKitServer, lkapi: api.LiveKitAPI
) -> None:
    livekit.answer_delay = 0.3
    with pytest.raises(api.ServerError) as caught:
        await lkapi.sip.create_sip_participant(dial(0.1))
    assert caught.value.code == "canceled"
    assert ROOM not in livekit.participants


async def test_a_trunk_that_does_not_exist(
    livekit: FakeLiveKitServer, lkapi: api.LiveKitAPI
) -> None:
    livekit.check_trunks = True
    with pytest.raises(api.ServerError) as caught:
        await lkapi.sip.create_sip_participant(dial(trunk="ST_missing"))
    error = caught.value
    assert (error.code, error.status, error.message, error.metadata) == (
        "not_found",
        404,
        "requested sip trunk does not exist",  # a Twirp error of the server's own: no prefix
        {},
    )


async def test_no_sip_service(livekit: FakeLiveKitServer, lkapi: api.LiveKitAPI) -> None:
    livekit.sip_service = False
    with pytest.raises(api.ServerError) as caught:
        await lkapi.sip.create_sip_participant(dial())
    error = caught.value
    assert (error.code, error.status) == ("unavailable", 503)
    assert error.message == "twirp error unknown: no response from servers"
    assert len(livekit.requests) == 1  # not a LiveKit Cloud host: a 5xx is not retried


async def test_validation_errors_are_the_servers_own(
    livekit: FakeLiveKitServer, lkapi: api.LiveKitAPI
) -> None:
    with pytest.raises(api.ServerError) as caught:
        await lkapi.sip.create_sip_participant(dial(trunk=""))
    assert (caught.value.code, caught.value.message) == (
        "invalid_argument",
        "missing sip trunk id and sip number",
    )
    livekit.add_participant(ROOM, "caller")
    with pytest.raises(api.ServerError) as caught:
        await lkapi.sip.transfer_sip_participant(
            sip.TransferSIPParticipantRequest(room_name=ROOM, transfer_to="tel:+18005550100")
        )
    assert caught.value.message == "twirp error unknown: Missing participant identity"


async def test_a_dial_without_waiting_is_not_told_of_the_failure(
    livekit: FakeLiveKitServer, lkapi: api.LiveKitAPI
) -> None:
    livekit.fail_sip(CALLEE, 486)
    request = dial()
    request.wait_until_answered = False
    info = await lkapi.sip.create_sip_participant(request)
    assert info.participant_identity == "caller"
    assert ROOM not in livekit.participants  # the call failed after the request returned


async def test_a_completed_transfer(livekit: FakeLiveKitServer, lkapi: api.LiveKitAPI) -> None:
    livekit.add_participant(ROOM, "caller")
    response = await lkapi.sip.transfer_sip_participant(refer())
    assert (response.status, response.reason) == (sip.STS_TRANSFER_SUCCESSFUL, sip.STR_COMPLETED)
    assert response.transfer_id.startswith("STR_") and not response.HasField("sip_status")
    assert livekit.participants[ROOM] == set()
    [sent] = livekit.requests
    assert sent.claims is not None and sent.claims.video is not None
    assert (sent.claims.video.room_admin, sent.claims.video.room) == (True, ROOM)
    [request] = livekit.calls(sent.method)
    assert request.ringing_timeout.seconds == 30  # pinned by the client


async def test_older_servers_answer_a_completed_transfer_with_nothing(
    livekit: FakeLiveKitServer,
) -> None:
    livekit.add_participant(ROOM, "caller")
    livekit.legacy_transfer = True
    assert await post(livekit, "TransferSIPParticipant", refer()) == (
        200,
        "application/protobuf",
        b"",
    )


async def test_a_call_that_ends_mid_transfer_is_a_failure_in_a_200(
    livekit: FakeLiveKitServer, lkapi: api.LiveKitAPI
) -> None:
    livekit.add_participant(ROOM, "caller")
    livekit.script_transfer(shapes.transfer_call_ended)
    response = await lkapi.sip.transfer_sip_participant(refer())
    assert (response.status, response.reason) == (sip.STS_TRANSFER_FAILED, sip.STR_CALL_ENDED)
    assert response.transfer_id.startswith("STR_")


@pytest.mark.parametrize(
    ("sip_code", "refer_rejected", "twirp_code", "http_status", "message"),
    [
        (
            486,
            False,
            "failed_precondition",
            412,
            "call transfer failed: sip status: 486: Busy Here",
        ),
        (603, False, "permission_denied", 403, "call transfer failed: sip status: 603: Decline"),
        (
            408,
            False,
            "deadline_exceeded",
            408,
            "call transfer failed: sip status: 408: Request Timeout",
        ),
        (405, True, "invalid_argument", 400, "sip status: 405: Method Not Allowed"),
        (403, True, "permission_denied", 403, "sip status: 403: Forbidden"),
    ],
)
async def test_a_failed_transfer_is_a_sip_call_error(
    livekit: FakeLiveKitServer,
    lkapi: api.LiveKitAPI,
    sip_code: int,
    refer_rejected: bool,
    twirp_code: str,
    http_status: int,
    message: str,
) -> None:
    livekit.add_participant(ROOM, "caller")
    livekit.fail_transfer(sip_code, refer=refer_rejected)
    with pytest.raises(api.SipCallError) as caught:
        await lkapi.sip.transfer_sip_participant(refer())
    error = caught.value
    assert (error.code, error.status, error.message) == (
        twirp_code,
        http_status,
        "twirp error unknown: " + message,
    )
    assert error.sip_status_code == sip_code and error.sip_transfer_reason == "STR_REJECTED"
    assert (error.sip_transfer_id or "").startswith("STR_")
    assert sorted(error.metadata) == [
        "error_details",
        "sip_status",
        "sip_status_code",
        "sip_transfer_id",
        "sip_transfer_reason",
    ]
    assert livekit.participants[ROOM] == {"caller"}  # the caller is still on the line


@pytest.mark.parametrize(
    ("bridge_wins", "code", "message"),
    [
        (False, "deadline_exceeded", "request timed out"),
        (True, "canceled", "context deadline exceeded"),
    ],
)
async def test_an_unanswered_transfer_ends_at_its_ringing_timeout(
    livekit: FakeLiveKitServer, lkapi: api.LiveKitAPI, bridge_wins: bool, code: str, message: str
) -> None:
    livekit.add_participant(ROOM, "caller")
    livekit.script_transfer(lambda _id: Unanswered(bridge_wins=bridge_wins))
    request = refer()
    request.ringing_timeout.FromNanoseconds(150_000_000)
    started = time.monotonic()
    with pytest.raises(api.ServerError) as caught:
        await lkapi.sip.transfer_sip_participant(request)
    assert 0.15 <= time.monotonic() - started < 0.5
    assert (caught.value.code, caught.value.status, caught.value.metadata) == (code, 408, {})
    assert caught.value.message == "twirp error unknown: " + message


async def test_a_subscription_that_ends_without_a_final_status(
    livekit: FakeLiveKitServer, lkapi: api.LiveKitAPI
) -> None:
    livekit.add_participant(ROOM, "caller")
    livekit.script_transfer(shapes.subscription_terminated)
    with pytest.raises(api.SipCallError) as caught:
        await lkapi.sip.transfer_sip_participant(refer())
    error = caught.value
    assert (error.code, error.status, error.sip_status_code) == ("internal", 500, None)
    assert error.sip_transfer_reason == "STR_SUBSCRIPTION_TERMINATED"
    assert error.message.startswith("twirp error unknown: call transfer failed: REFER subscription")


def test_relayed_errors_without_details_have_no_meta() -> None:
    assert relayed("unavailable", "no response from servers").body() == (
        b'{"code":"unavailable","msg":"twirp error unknown: no response from servers"}'
    )
