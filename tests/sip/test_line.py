"""Hanging up a call's line: what LiveKit's client raises is logged, never raised (the line
is hung up while a transfer is given up, and the caller must still hear the outcome)."""

from __future__ import annotations

import aiohttp
import pytest
from livekit import api
from structlog.testing import capture_logs

from sip.line import RoomLine


@pytest.mark.parametrize(
    "error",
    [
        ConnectionResetError(104, "Connection reset by peer"),  # a socket error aiohttp let by
        aiohttp.ServerDisconnectedError(),
        TimeoutError(),
    ],
    ids=lambda error: type(error).__name__,
)
async def test_a_line_that_cannot_be_hung_up_is_logged(
    error: Exception, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def fails(_request: api.DeleteRoomRequest) -> None:
        raise error

    async with api.LiveKitAPI("http://127.0.0.1:9", "key", "s" * 32) as lkapi:
        monkeypatch.setattr(lkapi.room, "delete_room", fails)
        with capture_logs() as logs:
            await RoomLine(lkapi, "call-1").hang_up()
    assert [(e["event"], e["error"]) for e in logs] == [
        ("line.hang_up_failed", type(error).__name__)
    ]
