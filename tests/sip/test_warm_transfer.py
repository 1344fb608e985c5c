"""Warm transfer: the real WarmTransferTask in a text session, and the private members of it
that sip/warm_transfer.py relies on, pinned so that a livekit-agents upgrade fails here.

What cannot run here: hold music and dialing the human need the job's room to be connected
to a LiveKit server (WebRTC), which these machines do not have. The transfer therefore fails
at its start, which exercises the give-up path the time limit and a failed merge also take.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator

import pytest
from fakes import livekit_sip as shapes
from fakes.livekit_server import FakeLiveKitServer
from fakes.livekit_sip import Unanswered
from fakes.livekit_sip_service import DialScript
from livekit import api, rtc
from livekit.agents import Agent, AgentSession
from livekit.agents.beta.workflows import WarmTransferTask
from livekit.agents.utils import http_context

from flows.agent.livekit_private import MERGE_FAILED, PhoneWarmTransferTask
from flows.engine.ports import TransferRequest
from flows.testing.harness import fake_job
from sip.line import RoomLine
from sip.warm_transfer import HUMAN_ROOM_SUFFIX, TIMED_OUT, WarmTransferer

REQUEST = TransferRequest(to="+14155550999", reason="caller_request", briefing="Caller: Jane.")


def test_the_private_members_we_use_are_still_there() -> None:
    assert inspect.iscoroutinefunction(WarmTransferTask._merge_calls)
    assert "await self._merge_calls()" in inspect.getsource(WarmTransferTask.connect_to_caller)
    originate = inspect.signature(WarmTransferTask._originate_human_agent).parameters
    assert [p for p in originate if p != "self"] == ["room_name", "identity", "room"]
    assert list(inspect.signature(WarmTransferTask._set_result).parameters) == ["self", "result"]
    source = inspect.getsource(WarmTransferTask)
    # on_enter waits on the dial or this future: setting it is how a ring is given up
    assert "self._human_agent_failed_fut" in inspect.getsource(WarmTransferTask.on_enter)
    assert "self._human_agent_sess" in source
    assert f'self._caller_room.name + "{HUMAN_ROOM_SUFFIX}"' in source


async def test_a_new_task_has_the_state_abandon_reads() -> None:
    task = PhoneWarmTransferTask("+14155550999", sip_trunk_id="ST_x", ringing_timeout=5)
    assert isinstance(task._human_agent_failed_fut, asyncio.Future)
    assert task._human_agent_sess is None and not task.human_answered


@pytest.mark.parametrize(
    ("message", "answered", "outcome"),
    [
        (TIMED_OUT, False, "no_answer"),  # still ringing when the time ran out
        (TIMED_OUT, True, "failed"),  # answered, never merged in time
        (MERGE_FAILED, True, "failed"),
        ("human agent declined to connect: busy", True, "declined"),
        ("could not dial human agent", False, "failed"),  # and no error kept: see below
    ],
)
async def test_why_a_transfer_did_not_connect(message: str, answered: bool, outcome: str) -> None:
    task = PhoneWarmTransferTask("+14155550999", sip_trunk_id="ST_x", ringing_timeout=5)
    if answered:
        task._human_agent_sess = object()  # type: ignore[assignment]
    assert WarmTransferer._failure(task, message) == outcome


@pytest.fixture
async def job_api(
    livekit: FakeLiveKitServer, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[None]:
    """The job context WarmTransferTask dials the human through (``JobContext.api``)."""
    monkeypatch.setenv("LIVEKIT_URL", livekit.url)
    monkeypatch.setenv("LIVEKIT_API_KEY", livekit.api_key)
    monkeypatch.setenv("LIVEKIT_API_SECRET", livekit.api_secret)
    async with http_context.open(), fake_job():
        yield


@pytest.mark.parametrize(
    ("script", "outcome"),
    [
        (Unanswered(), "no_answer"),  # the ringing timeout: Twirp "canceled", no SIP status
        (shapes.invite_failure(486), "no_answer"),
        (shapes.invite_failure(480), "no_answer"),
        (shapes.invite_failure(603), "declined"),
        (shapes.invite_failure(404), "failed"),
        (shapes.TRUNK_NOT_FOUND, "failed"),
        (shapes.NO_SIP_SERVICE, "failed"),
    ],
)
@pytest.mark.usefixtures("job_api")
async def test_a_human_who_was_not_reached(
    livekit: FakeLiveKitServer, script: DialScript, outcome: str
) -> None:
    """The human's leg as the real task dials it, through livekit-api to the local server."""
    livekit.script_dial("+14155550999", script)
    task = PhoneWarmTransferTask("+14155550999", sip_trunk_id="ST_x", ringing_timeout=0.1)
    with pytest.raises(api.ServerError):  # what the task reports as "could not dial"
        await task._originate_human_agent(
            room_name="call-1" + HUMAN_ROOM_SUFFIX, identity="human", room=rtc.Room()
        )
    assert isinstance(task.dial_error, api.ServerError)
    assert WarmTransferer._failure(task, "could not dial human agent") == outcome


@pytest.mark.usefixtures("job_api")
async def test_a_human_who_answers_leaves_no_dial_error(livekit: FakeLiveKitServer) -> None:
    task = PhoneWarmTransferTask("+14155550999", sip_trunk_id="ST_x", ringing_timeout=1)
    await task._originate_human_agent(
        room_name="call-1" + HUMAN_ROOM_SUFFIX, identity="human", room=rtc.Room()
    )
    assert task.dial_error is None
    assert livekit.participants["call-1" + HUMAN_ROOM_SUFFIX] == {"human"}


class _Root(Agent):
    """A root agent that transfers as IntakeAgent does: from its on_enter."""

    def __init__(self, transferer: WarmTransferer) -> None:
        super().__init__(instructions="transfer")
        self.transferer = transferer
        self.outcome: asyncio.Future[str] = asyncio.Future()

    async def on_enter(self) -> None:
        self.outcome.set_result(await self.transferer.transfer(REQUEST))


async def test_a_transfer_that_cannot_dial_gives_the_caller_back(
    livekit: FakeLiveKitServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LIVEKIT_API_KEY", livekit.api_key)
    monkeypatch.setenv("LIVEKIT_API_SECRET", livekit.api_secret)
    lkapi = api.LiveKitAPI(livekit.url, livekit.api_key, livekit.api_secret)
    room = rtc.Room()
    transferer = WarmTransferer(
        trunk="ST_x",
        ringing_timeout=5,
        time_limit=10,
        human_room=RoomLine(lkapi, "call-1" + HUMAN_ROOM_SUFFIX),
    )
    root = _Root(transferer)
    async with fake_job(room):
        session = AgentSession[None](turn_handling={"turn_detection": "manual"})
        try:
            await session.start(root)
            assert await asyncio.wait_for(root.outcome, 5) == "failed"
            # the hold music could not start (no connected room): the caller is not left on
            # hold, the session still speaks to them, e.g. the fallback message
            await asyncio.wait_for(session.say("Someone will call you back."), 5)
            (deleted,) = livekit.calls("DeleteRoom")  # no human leg left ringing
            assert deleted.room == "call-1-human-agent"
        finally:
            await session.aclose()
            await lkapi.aclose()


async def test_a_trunk_named_but_not_provisioned_fails_before_anyone_is_dialled(
    livekit: FakeLiveKitServer,
) -> None:
    """The trunk by its telephony-file name, looked up through the local server: none of
    that name, so the transfer fails at once; no human leg, no hold music."""
    async with api.LiveKitAPI(livekit.url, livekit.api_key, livekit.api_secret) as lkapi:
        transferer = WarmTransferer(
            trunk="twilio-out",
            sip=lkapi.sip,
            ringing_timeout=5,
            time_limit=10,
            human_room=RoomLine(lkapi, "call-1" + HUMAN_ROOM_SUFFIX),
        )
        assert await transferer.transfer(REQUEST) == "failed"
    assert [request.method for request in livekit.requests] == ["ListSIPOutboundTrunk"]
