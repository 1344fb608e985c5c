"""Hanging up a call's line against real servers: what LiveKit's client raises is logged,
never raised (the line is hung up while a transfer is given up, and the caller must still
hear the outcome), and a room already gone is no failure at all."""

from __future__ import annotations

from conftest import dropping_server, free_port
from fakes.livekit_server import FakeLiveKitServer
from livekit import api
from structlog.testing import capture_logs

from sip.line import RoomLine


async def hang_up(url: str) -> list[tuple[str, object]]:
    async with api.LiveKitAPI(url, "devkey", "s" * 32) as lkapi:
        with capture_logs() as logs:
            await RoomLine(lkapi, "call-1").hang_up()
    return [(entry["event"], entry.get("error", entry.get("code"))) for entry in logs]


async def test_a_livekit_that_closes_the_connection_is_logged() -> None:
    async with dropping_server() as url:
        assert await hang_up(url) == [("line.hang_up_failed", "ServerDisconnectedError")]


async def test_a_livekit_nobody_listens_for_is_logged() -> None:
    assert await hang_up(f"http://127.0.0.1:{free_port()}") == [
        ("line.hang_up_failed", "ClientConnectorError")
    ]


async def test_a_room_already_gone_is_no_failure(livekit: FakeLiveKitServer) -> None:
    async with api.LiveKitAPI(livekit.url, livekit.api_key, livekit.api_secret) as lkapi:
        with capture_logs() as logs:
            await RoomLine(lkapi, "never-created").hang_up()
    assert logs == []
    assert [request.room for request in livekit.calls("DeleteRoom")] == ["never-created"]
