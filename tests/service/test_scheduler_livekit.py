"""Dispatching requested calls through LiveKit's AgentDispatchService (the local server)."""

from __future__ import annotations

import json
import socket

import pytest
from fakes.livekit_server import MAX_METADATA_SIZE, FakeLiveKitServer
from livekit import api
from structlog.testing import capture_logs

from service.errors import ConfigError
from service.scheduler.dispatch import Dispatch, DispatchError
from service.scheduler.livekit import LiveKitDispatcher
from service.settings import LiveKitSettings
from sip.dialing import OutboundJob, parse_job_metadata

JOB = Dispatch(
    call_id="call_01JABCDEFGHJKMNPQRSTVWXYZ0",
    attempt=2,
    room="call-01jabcdefghjkmnpqrstvwxyz0-2",
    to="+14155550123",
    from_="+18005550100",
    flow="customer_feedback",
    metadata={"ticket": "T-1", "nested": {"a": [1, 2]}},
)


def settings(server: FakeLiveKitServer, **changes: object) -> LiveKitSettings:
    values = {
        "url": server.url,
        "api_key": server.api_key,
        "api_secret": server.api_secret,
        "agent_name": "intake-outbound",
    }
    return LiveKitSettings.model_validate(values | changes)


async def test_a_dispatch_sends_the_agent_into_the_room_with_the_job(
    livekit: FakeLiveKitServer,
) -> None:
    dispatcher = LiveKitDispatcher.from_settings(settings(livekit))
    try:
        await dispatcher.dispatch(JOB)
    finally:
        await dispatcher.aclose()
    [request] = livekit.calls("CreateDispatch")
    assert (request.agent_name, request.room) == ("intake-outbound", JOB.room)
    assert parse_job_metadata(request.metadata) == OutboundJob(
        call_id=JOB.call_id,
        to=JOB.to,
        from_=JOB.from_,
        flow=JOB.flow,
        metadata=JOB.metadata,
    )
    [dispatch] = livekit.dispatches[JOB.room].values()
    assert dispatch.agent_name == "intake-outbound"


@pytest.mark.parametrize(
    ("setup", "retryable", "message"),
    [
        ("wrong_secret", False, "LiveKit refused the API key (unauthenticated)"),
        ("huge_metadata", False, "LiveKit refused the dispatch (invalid_argument)"),
        ("no_room_node", True, "LiveKit refused the dispatch (unavailable)"),
    ],
)
async def test_refusals_say_whether_a_later_dial_may_work(
    livekit: FakeLiveKitServer, setup: str, retryable: bool, message: str
) -> None:
    job, config = JOB, settings(livekit)
    if setup == "wrong_secret":
        config = settings(livekit, api_secret="not-the-secret-0123456789abcdefghij")
    elif setup == "huge_metadata":
        job = Dispatch(**{**JOB.__dict__, "metadata": {"notes": "x" * MAX_METADATA_SIZE}})
    else:
        livekit.room_nodes = False
    dispatcher = LiveKitDispatcher.from_settings(config)
    try:
        with pytest.raises(DispatchError) as raised:
            await dispatcher.dispatch(job)
    finally:
        await dispatcher.aclose()
    assert (raised.value.retryable, str(raised.value)) == (retryable, message)
    assert JOB.to not in str(raised.value)


async def test_an_unreachable_server_is_retryable() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = LiveKitSettings(url=f"http://127.0.0.1:{port}", api_key="k", api_secret="s" * 32)
    dispatcher = LiveKitDispatcher.from_settings(config, timeout=2)
    try:
        with pytest.raises(DispatchError, match="unreachable") as raised:
            await dispatcher.dispatch(JOB)
    finally:
        await dispatcher.aclose()
    assert raised.value.retryable


async def test_withdrawing_deletes_the_dispatch_and_the_room_and_tolerates_neither(
    livekit: FakeLiveKitServer, lkapi: api.LiveKitAPI
) -> None:
    other = await lkapi.agent_dispatch.create_dispatch(
        api.CreateAgentDispatchRequest(agent_name="someone-else", room=JOB.room)
    )
    dispatcher = LiveKitDispatcher.from_settings(settings(livekit))
    try:
        await dispatcher.dispatch(JOB)
        await dispatcher.withdraw(JOB)
        [deleted] = livekit.calls("DeleteDispatch")
        assert deleted.dispatch_id != other.id  # only our agent's dispatch
        assert JOB.room not in livekit.rooms
        with capture_logs() as logs:
            await dispatcher.withdraw(JOB)  # gone already: no room node, no room
    finally:
        await dispatcher.aclose()
    assert [(e["event"], e["step"], e["error"]) for e in logs] == [
        ("dispatch.withdraw_failed", "list_dispatch", "unavailable")
    ]
    assert all(JOB.to not in json.dumps(e, default=str) for e in logs)


def test_missing_settings_name_their_variable() -> None:
    with pytest.raises(ConfigError, match="INTAKE_LIVEKIT__URL"):
        LiveKitDispatcher.from_settings(LiveKitSettings())
    with pytest.raises(ConfigError, match="INTAKE_LIVEKIT__API_SECRET"):
        LiveKitDispatcher.from_settings(LiveKitSettings(url="http://x", api_key="k"))
