"""Transfers: the cold (SIP REFER) path through the real livekit-api client to a local
server, and what a human's SIP answer means for the payload."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from fakes.livekit_server import FakeLiveKitServer
from livekit import api

from sip.transfer import ColdTransferer, TransferRequest, outcome_for_sip_status

REQUEST = TransferRequest(
    to="+14155550999", reason="caller_request", briefing="Caller on the line."
)


@pytest.fixture
async def cold() -> AsyncIterator[tuple[FakeLiveKitServer, ColdTransferer]]:
    async with FakeLiveKitServer() as server:
        server.add_participant("call-1", "sip_caller")
        lkapi = api.LiveKitAPI(server.url, server.api_key, server.api_secret)
        yield server, ColdTransferer(lkapi, room_name="call-1", participant_identity="sip_caller")
        await lkapi.aclose()


async def test_cold_transfer_refers_the_caller(
    cold: tuple[FakeLiveKitServer, ColdTransferer],
) -> None:
    server, transferer = cold
    assert await transferer.transfer(REQUEST) == "connected"
    (sent,) = server.calls("TransferSIPParticipant")
    assert (sent.room_name, sent.participant_identity, sent.transfer_to) == (
        "call-1",
        "sip_caller",
        "tel:+14155550999",
    )


@pytest.mark.parametrize(
    ("status", "outcome"),
    [(486, "no_answer"), (480, "no_answer"), (603, "declined"), (500, "failed")],
)
async def test_cold_transfer_failures_become_outcomes(
    cold: tuple[FakeLiveKitServer, ColdTransferer], status: int, outcome: str
) -> None:
    server, transferer = cold
    server.fail_transfer(status)
    assert await transferer.transfer(REQUEST) == outcome


def test_sip_answers_of_the_human() -> None:
    assert outcome_for_sip_status(None) == "failed"
    assert outcome_for_sip_status(487) == "no_answer"
