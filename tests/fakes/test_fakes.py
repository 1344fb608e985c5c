"""The fake servers speak their protocols: the real ``livekit-api`` client and the real
``livekit-plugins-openai`` LLM (also inside a real ``AgentSession``) run against them unmocked."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from livekit import api
from livekit.agents import (
    Agent,
    AgentSession,
    APIConnectOptions,
    APIStatusError,
    APITimeoutError,
    RunResult,
    function_tool,
)
from livekit.agents.llm import ChatChunk, ChatContext
from livekit.plugins import openai
from livekit.protocol.agent_dispatch import CreateAgentDispatchRequest
from livekit.protocol.room import (
    CreateRoomRequest,
    DeleteRoomRequest,
    ListRoomsRequest,
    MoveParticipantRequest,
    RoomParticipantIdentity,
)
from livekit.protocol.sip import (
    CreateSIPOutboundTrunkRequest,
    CreateSIPParticipantRequest,
    ListSIPOutboundTrunkRequest,
    SIPOutboundTrunkInfo,
)

from fakes.livekit_server import FakeLiveKitServer
from fakes.openai_server import Reply, ScriptedOpenAIServer

CALLEE = "+14155550123"
ROOM = "call-1"
DELETE_ROOM = "/twirp/livekit.RoomService/DeleteRoom"


@pytest.fixture
async def chatgpt() -> AsyncIterator[ScriptedOpenAIServer]:
    async with ScriptedOpenAIServer() as server:
        yield server


@pytest.fixture
async def gpt(chatgpt: ScriptedOpenAIServer) -> AsyncIterator[openai.LLM]:
    model = openai.LLM(model="gpt-4.1-mini", base_url=chatgpt.base_url, api_key="test")
    yield model
    await model.aclose()


async def test_rooms_and_participants(livekit: FakeLiveKitServer, lkapi: api.LiveKitAPI) -> None:
    assert list((await lkapi.room.list_rooms(ListRoomsRequest())).rooms) == []
    created = await lkapi.room.create_room(CreateRoomRequest(name=ROOM, empty_timeout=30))
    assert created.sid.startswith("RM_") and created.empty_timeout == 30
    livekit.add_participant(ROOM, "caller")
    [listed] = (await lkapi.room.list_rooms(ListRoomsRequest(names=[ROOM]))).rooms
    assert (listed.sid, listed.num_participants) == (created.sid, 1)
    await lkapi.room.remove_participant(RoomParticipantIdentity(room=ROOM, identity="caller"))
    await lkapi.room.delete_room(DeleteRoomRequest(room=ROOM))
    assert livekit.rooms == {}
    with pytest.raises(api.ServerError) as caught:
        await lkapi.room.delete_room(DeleteRoomRequest(room=ROOM))
    assert (caught.value.code, caught.value.status) == ("not_found", 404)
    assert caught.value.message == "twirp error unknown: requested room does not exist"
    [deleted, _] = livekit.calls("DeleteRoom")
    assert isinstance(deleted, DeleteRoomRequest) and deleted.room == ROOM


def move(destination: str = "call-1-human") -> MoveParticipantRequest:
    return MoveParticipantRequest(room=ROOM, identity="caller", destination_room=destination)


async def test_self_hosted_livekit_does_not_move_participants(
    livekit: FakeLiveKitServer, lkapi: api.LiveKitAPI
) -> None:
    livekit.add_participant(ROOM, "caller")
    with pytest.raises(api.ServerError) as caught:
        await lkapi.room.move_participant(move())
    error = caught.value
    assert (error.code, error.status, error.message, error.metadata) == (
        "unknown",
        500,
        "twirp error unknown: not implemented",
        {},
    )
    assert len(livekit.requests) == 1  # a 5xx, but not a LiveKit Cloud host: no retry
    assert livekit.participants[ROOM] == {"caller"}


async def test_livekit_cloud_moves_participants(
    livekit: FakeLiveKitServer, lkapi: api.LiveKitAPI
) -> None:
    livekit.cloud = True
    livekit.add_participant(ROOM, "caller")
    await lkapi.room.move_participant(move())
    assert (livekit.participants[ROOM], livekit.participants["call-1-human"]) == (set(), {"caller"})
    [sent] = livekit.requests
    assert sent.claims is not None and sent.claims.video is not None
    assert sent.claims.video.destination_room == "call-1-human"
    with pytest.raises(api.ServerError) as caught:
        await lkapi.room.move_participant(move(ROOM))
    same_room = "destination room cannot be the same as source room"
    assert (caught.value.code, caught.value.message) == ("invalid_argument", same_room + " ")
    assert caught.value.metadata == {"argument": same_room}


async def test_moving_needs_the_destination_room_grant(livekit: FakeLiveKitServer) -> None:
    livekit.cloud = True
    livekit.add_participant(ROOM, "caller")
    token = api.AccessToken(livekit.api_key, livekit.api_secret)
    token.with_grants(api.VideoGrants(room_admin=True, room=ROOM))  # no destination_room
    async with api.LiveKitAPI.with_token(token.to_jwt(), livekit.url) as lkapi:
        with pytest.raises(api.ServerError) as caught:
            await lkapi.room.move_participant(move())
    assert (caught.value.code, caught.value.status) == ("unauthenticated", 401)


async def test_agent_dispatch(livekit: FakeLiveKitServer, lkapi: api.LiveKitAPI) -> None:
    request = CreateAgentDispatchRequest(agent_name="intake", room=ROOM, metadata='{"flow": 1}')
    dispatch = await lkapi.agent_dispatch.create_dispatch(request)
    assert dispatch.id.startswith("AD_")
    assert (dispatch.agent_name, dispatch.room) == ("intake", ROOM)
    assert dispatch.metadata == request.metadata
    assert livekit.calls("CreateDispatch") == [request]
    assert ROOM in livekit.rooms


async def test_outbound_trunks(lkapi: api.LiveKitAPI) -> None:
    trunk = SIPOutboundTrunkInfo(name="pstn", address="sip.example.com", numbers=["+18005550100"])
    created = await lkapi.sip.create_outbound_trunk(CreateSIPOutboundTrunkRequest(trunk=trunk))
    assert created.sip_trunk_id.startswith("ST_") and created.numbers == ["+18005550100"]
    listed = await lkapi.sip.list_outbound_trunk(ListSIPOutboundTrunkRequest())
    assert list(listed.items) == [created]
    with pytest.raises(api.ServerError) as caught:
        bad = CreateSIPOutboundTrunkRequest(trunk=SIPOutboundTrunkInfo(address="sip.example.com"))
        await lkapi.sip.create_outbound_trunk(bad)
    assert caught.value.code == "invalid_argument"
    assert caught.value.message == "no trunk numbers specified"


async def test_a_wrong_secret_is_rejected_like_the_server_does(livekit: FakeLiveKitServer) -> None:
    async with api.LiveKitAPI(livekit.url, livekit.api_key, "not-the-secret-" * 3) as lkapi:
        with pytest.raises(api.ServerError) as caught:
            await lkapi.room.delete_room(DeleteRoomRequest(room=ROOM))
    # The server's auth middleware answers in plain text, so the client sees no Twirp code.
    assert (caught.value.status, caught.value.code) == (401, "unknown")
    assert livekit.requests == []


@pytest.mark.parametrize("flaw", ["expired", "without-the-sip-call-grant"])
async def test_tokens_are_verified(livekit: FakeLiveKitServer, flaw: str) -> None:
    token = api.AccessToken(livekit.api_key, livekit.api_secret)
    if flaw == "expired":  # beyond the minute of leeway
        token.with_ttl(timedelta(minutes=-2)).with_sip_grants(api.SIPGrants(call=True))
    else:
        token.with_grants(api.VideoGrants(room_admin=True, room=ROOM))
    async with api.LiveKitAPI.with_token(token.to_jwt(), livekit.url) as lkapi:
        with pytest.raises(api.ServerError) as caught:
            dial = CreateSIPParticipantRequest(
                sip_trunk_id="ST_test", sip_call_to=CALLEE, room_name=ROOM, wait_until_answered=True
            )
            await lkapi.sip.create_sip_participant(dial)
    assert caught.value.status == 401
    expected = ("unknown", "") if flaw == "expired" else ("unauthenticated", "permissions denied")
    assert (caught.value.code, caught.value.message) == expected
    assert not isinstance(caught.value, api.SipCallError)


@pytest.mark.parametrize(
    ("path", "content_type", "body", "twirp_code", "status"),
    [
        ("/twirp/livekit.RoomService/Nope", "application/protobuf", b"", "bad_route", 404),
        (DELETE_ROOM, "application/json", b"{}", "bad_route", 404),
        (DELETE_ROOM, "application/protobuf", b"\xff", "malformed", 400),
    ],
)
async def test_twirp_routing_errors(
    livekit: FakeLiveKitServer,
    path: str,
    content_type: str,
    body: bytes,
    twirp_code: str,
    status: int,
) -> None:
    token = api.AccessToken(livekit.api_key, livekit.api_secret).to_jwt()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": content_type}
    async with (
        aiohttp.ClientSession() as http,
        http.post(livekit.url + path, data=body, headers=headers) as response,
    ):
        error = await response.json()
        assert (response.status, error["code"]) == (status, twirp_code)
        if twirp_code == "bad_route":  # Twirp's badRouteError names the route
            assert error["meta"] == {"twirp_invalid_route": f"POST {path}"}


def user_says(text: str) -> ChatContext:
    chat_ctx = ChatContext.empty()
    chat_ctx.add_message(role="user", content=text)
    return chat_ctx


async def collect(gpt: openai.LLM, chat_ctx: ChatContext, **kwargs: Any) -> list[ChatChunk]:
    async with gpt.chat(chat_ctx=chat_ctx, **kwargs) as stream:
        return [chunk async for chunk in stream]


async def test_llm_streams_text(chatgpt: ScriptedOpenAIServer, gpt: openai.LLM) -> None:
    chatgpt.script(lambda body: Reply(text="Thanks. What is your date of birth?"))
    chunks = await collect(gpt, user_says("Hi, it's Ada."))
    texts = [c.delta.content for c in chunks if c.delta and c.delta.content]
    assert len(texts) > 1 and "".join(texts) == "Thanks. What is your date of birth?"
    assert any(c.usage and c.usage.completion_tokens for c in chunks)
    [body] = chatgpt.requests
    assert (body["model"], body["stream"], body["stream_options"]) == (
        "gpt-4.1-mini",
        True,
        {"include_usage": True},
    )
    assert body["messages"][-1] == {"role": "user", "content": "Hi, it's Ada."}


@function_tool
async def record_answer(field: str, value: str) -> str:
    """Record the caller's answer to one field of the form.

    Args:
        field: The form field being answered.
        value: The caller's answer, as they gave it.
    """
    return "recorded"


async def test_llm_assembles_a_streamed_tool_call(
    chatgpt: ScriptedOpenAIServer, gpt: openai.LLM
) -> None:
    answer = {"field": "date_of_birth", "value": "10 December 1815"}
    chatgpt.script(lambda body: Reply(tool_calls=[("record_answer", answer)]))
    chunks = await collect(gpt, user_says("December 10th, 1815"), tools=[record_answer])
    calls = [call for c in chunks if c.delta for call in c.delta.tool_calls]
    assert [(c.name, json.loads(c.arguments)) for c in calls] == [("record_answer", answer)]
    assert calls[0].call_id.startswith("call_")
    [tool] = chatgpt.requests[0]["tools"]
    assert (tool["type"], tool["function"]["name"]) == ("function", "record_answer")
    assert tool["function"]["parameters"]["required"] == ["field", "value"]


async def test_tool_arguments_arrive_in_pieces(chatgpt: ScriptedOpenAIServer) -> None:
    chatgpt.script(lambda body: Reply(tool_calls=[("record_answer", '{"field": "name"}')]))
    request = {
        "model": "m",
        "messages": [],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    async with (
        aiohttp.ClientSession(headers={"Authorization": "Bearer test"}) as http,
        http.post(chatgpt.base_url + "/chat/completions", json=request) as response,
    ):
        assert response.content_type == "text/event-stream"
        events = [line.removeprefix("data: ") for line in (await response.text()).split("\n\n")]
    assert events[-2:] == ["[DONE]", ""]
    chunks = [json.loads(event) for event in events[:-2]]
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    pieces = [t["function"]["arguments"] for d in deltas for t in d.get("tool_calls", [])]
    assert len(pieces) > 2 and "".join(pieces) == '{"field": "name"}'
    assert chunks[-2]["choices"][0]["finish_reason"] == "tool_calls"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] > 0


async def test_requests_need_bearer_auth(chatgpt: ScriptedOpenAIServer) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.post(chatgpt.base_url + "/chat/completions", json={}) as response,
    ):
        assert response.status == 401
    assert chatgpt.requests == []


async def test_a_server_error_is_retried(chatgpt: ScriptedOpenAIServer, gpt: openai.LLM) -> None:
    chatgpt.script(lambda body: Reply(text="Hello."))
    chatgpt.fail_next(1, status=503)
    retry_once = APIConnectOptions(max_retry=1, retry_interval=0.0)
    chunks = await collect(gpt, user_says("Hi"), conn_options=retry_once)
    assert "".join(c.delta.content or "" for c in chunks if c.delta) == "Hello."
    assert len(chatgpt.requests) == 2


async def test_a_client_error_is_not_retried(
    chatgpt: ScriptedOpenAIServer, gpt: openai.LLM
) -> None:
    chatgpt.fail_next(1, status=400)
    with pytest.raises(APIStatusError) as caught:
        await collect(gpt, user_says("Hi"))
    assert caught.value.status_code == 400 and not caught.value.retryable
    assert len(chatgpt.requests) == 1


async def test_a_slow_reply_times_out(chatgpt: ScriptedOpenAIServer, gpt: openai.LLM) -> None:
    chatgpt.script(lambda body: Reply(text="Too late.", delay=0.3))
    with pytest.raises(APITimeoutError):
        await collect(
            gpt, user_says("Hi"), conn_options=APIConnectOptions(max_retry=0, timeout=0.05)
        )


class FormAgent(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="Collect the caller's name.")
        self.recorded: list[tuple[str, str]] = []

    @function_tool
    async def record_answer(self, field: str, value: str) -> str:
        """Record the caller's answer to one field of the form.

        Args:
            field: The form field being answered.
            value: The caller's answer, as they gave it.
        """
        self.recorded.append((field, value))
        return "recorded"


def call_the_tool_then_thank(body: dict[str, Any]) -> Reply:
    if body["messages"][-1]["role"] == "tool":
        return Reply(text="Thank you, Ada.")
    return Reply(tool_calls=[("record_answer", {"field": "name", "value": "Ada Lovelace"})])


async def test_agent_session_calls_the_tool(chatgpt: ScriptedOpenAIServer, gpt: openai.LLM) -> None:
    chatgpt.script(call_the_tool_then_thank)
    agent = FormAgent()
    session = AgentSession[None](
        llm=gpt, vad=None, turn_handling={"turn_detection": "manual"}, user_away_timeout=None
    )
    await session.start(agent)
    try:
        result: RunResult[None] = await session.run(user_input="My name is Ada Lovelace.")
    finally:
        await session.aclose()
    answer = {"field": "name", "value": "Ada Lovelace"}
    result.expect.contains_function_call(name="record_answer", arguments=answer)
    result.expect.contains_function_call_output(output="recorded")
    result.expect.contains_message(role="assistant")
    assert agent.recorded == [("name", "Ada Lovelace")]
    # The second request carries the call, with the fake's id, and the tool's output.
    assistant, tool_output = chatgpt.requests[-1]["messages"][-2:]
    call_id = result.expect.contains_function_call().event().item.call_id
    assert assistant["tool_calls"][0]["id"] == tool_output["tool_call_id"] == call_id
