"""Cold transfers (SIP REFER) through the real livekit-api client to the local server: what
is reported for each way TransferSIPParticipant ends."""

from __future__ import annotations

import socket
import time
from typing import Any

import aiohttp
import pytest
from aiohttp.abc import AbstractResolver, ResolveResult
from fakes import livekit_sip as shapes
from fakes.livekit_server import FakeLiveKitServer
from fakes.livekit_sip import Hangs, Unanswered
from livekit import api

from flows.engine.ports import TransferRequest
from sip.transfer import ColdTransferer

REQUEST = TransferRequest(
    to="+14155550999", reason="caller_request", briefing="Caller on the line."
)
ROOM, CALLER = "call-1", "sip_caller"


@pytest.fixture
def server(livekit: FakeLiveKitServer) -> FakeLiveKitServer:
    livekit.add_participant(ROOM, CALLER)
    return livekit


def cold(lkapi: api.LiveKitAPI, ringing_timeout: float = 20) -> ColdTransferer:
    return ColdTransferer(
        lkapi, room_name=ROOM, participant_identity=CALLER, ringing_timeout=ringing_timeout
    )


@pytest.mark.parametrize("legacy", [False, True])
async def test_cold_transfer_refers_the_caller(
    server: FakeLiveKitServer, lkapi: api.LiveKitAPI, legacy: bool
) -> None:
    server.legacy_transfer = legacy  # an empty 200, as before livekit/sip#807
    assert await cold(lkapi).transfer(REQUEST) == "connected"
    (sent,) = server.calls("TransferSIPParticipant")
    assert (sent.room_name, sent.participant_identity, sent.transfer_to) == (
        ROOM,
        CALLER,
        "tel:+14155550999",
    )
    assert sent.ringing_timeout.seconds == 20  # ours, not livekit-api's default 30
    assert server.participants[ROOM] == set()


async def test_a_call_that_ends_before_the_transfer_did_is_not_connected(
    server: FakeLiveKitServer, lkapi: api.LiveKitAPI
) -> None:
    server.script_transfer(shapes.transfer_call_ended)  # a 200 all the same
    assert await cold(lkapi).transfer(REQUEST) == "failed"


@pytest.mark.parametrize(
    ("script", "outcome"),
    [
        (lambda id_: shapes.transfer_failure(486, transfer_id=id_), "no_answer"),
        (lambda id_: shapes.transfer_failure(480, transfer_id=id_), "no_answer"),
        (lambda id_: shapes.transfer_failure(603, transfer_id=id_), "declined"),
        (lambda id_: shapes.transfer_failure(405, transfer_id=id_, refer=True), "failed"),
        (lambda id_: shapes.transfer_failure(500, transfer_id=id_), "failed"),
        (shapes.subscription_terminated, "failed"),
        (lambda _id: shapes.TRANSFER_UNSUPPORTED, "failed"),
        (lambda _id: Unanswered(), "no_answer"),
        (lambda _id: Unanswered(bridge_wins=True), "no_answer"),
    ],
)
async def test_cold_transfer_failures_become_outcomes(
    server: FakeLiveKitServer, lkapi: api.LiveKitAPI, script: Any, outcome: str
) -> None:
    server.script_transfer(script)
    assert await cold(lkapi, ringing_timeout=0.1).transfer(REQUEST) == outcome
    assert server.participants[ROOM] == {CALLER}  # never handed off


async def test_a_caller_already_gone_is_a_failed_transfer(
    server: FakeLiveKitServer, lkapi: api.LiveKitAPI
) -> None:
    server.participants[ROOM].clear()
    assert await cold(lkapi).transfer(REQUEST) == "failed"
    server.sip_service = False
    server.add_participant(ROOM, CALLER)
    assert await cold(lkapi).transfer(REQUEST) == "failed"


class _ToTheFake(AbstractResolver):
    """Resolves every name to the local server, so a LiveKit Cloud URL reaches it."""

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return [
            {
                "hostname": host,
                "host": "127.0.0.1",
                "port": port,
                "family": socket.AF_INET,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST,
            }
        ]

    async def close(self) -> None:
        pass


async def test_a_stuck_server_holds_the_caller_no_longer_than_the_ringing_timeout(
    server: FakeLiveKitServer,
) -> None:
    """On a LiveKit Cloud URL livekit-api would replay a timed-out request (three attempts of
    ringing + 2 s each, resending the REFER): the worker's client has failover off
    (service.live.sip_api), so one REFER, and the caller waits ringing + a small margin."""
    server.script_transfer(lambda _id: Hangs())
    port = server.url.rsplit(":", 1)[1]
    connector = aiohttp.TCPConnector(resolver=_ToTheFake())
    async with (
        aiohttp.ClientSession(connector=connector) as session,
        api.LiveKitAPI(
            f"http://test.livekit.cloud:{port}",
            server.api_key,
            server.api_secret,
            session=session,
            failover=False,
        ) as lkapi,
    ):
        started = time.monotonic()
        outcome = await cold(lkapi, ringing_timeout=3).transfer(REQUEST)
        elapsed = time.monotonic() - started
    assert outcome == "no_answer"
    assert 5 <= elapsed < 6.5  # ringing + 2 s (livekit-api's budget), within our cap of + 3 s
    assert len(server.calls("TransferSIPParticipant")) == 1  # never resent
