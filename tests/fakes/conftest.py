"""The local LiveKit server and the real livekit-api client pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from livekit import api

from fakes.livekit_server import FakeLiveKitServer


@pytest.fixture
async def livekit() -> AsyncIterator[FakeLiveKitServer]:
    async with FakeLiveKitServer() as server:
        yield server


@pytest.fixture
async def lkapi(livekit: FakeLiveKitServer) -> AsyncIterator[api.LiveKitAPI]:
    client = api.LiveKitAPI(livekit.url, livekit.api_key, livekit.api_secret)
    yield client
    await client.aclose()
