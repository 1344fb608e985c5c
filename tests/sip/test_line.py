"""Hanging up a call's line against real servers: what LiveKit's client raises is logged,
never raised (the line is hung up while a transfer is given up, and the caller must still
hear the outcome), and a room already gone is no failure at all."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from conftest import free_port
from fakes.livekit_server import FakeLiveKitServer
from livekit import api
from structlog.testing import capture_logs

from sip.line import RoomLine


@pytest.fixture
async def hangs_up_on_every_request() -> AsyncIterator[str]:
    """A server that accepts the connection, reads the request and closes without a word."""

    async def close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1024)
        writer.close()

    server = await asyncio.start_server(close, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield f"http://127.0.0.1:{port}"


async def hang_up(url: str) -> list[tuple[str, object]]:
    async with api.LiveKitAPI(url, "devkey", "s" * 32) as lkapi:
        with capture_logs() as logs:
            await RoomLine(lkapi, "call-1").hang_up()
    return [(entry["event"], entry.get("error", entry.get("code"))) for entry in logs]


async def test_a_livekit_that_closes_the_connection_is_logged(
    hangs_up_on_every_request: str,
) -> None:
    assert await hang_up(hangs_up_on_every_request) == [
        ("line.hang_up_failed", "ServerDisconnectedError")
    ]


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
