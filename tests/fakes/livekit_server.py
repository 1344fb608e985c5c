"""A LiveKit server API stand-in that speaks Twirp, for driving the real ``livekit-api`` client.

The wire protocol was read from the client (livekit-api 1.2.2: ``livekit/api/twirp_client.py``,
``_failover.py``, ``_service.py``, ``access_token.py``, ``sip_service.py``) and the server side
reproduced from livekit/livekit ``pkg/service/{auth,sip,roomservice,agent_dispatch_service}.go``
(and ``pkg/rtc/room.go`` for dispatches), livekit/protocol ``livekit/sip.go``,
``rpc/agent_dispatch.psrpc.go`` and ``utils/xtwirp/errors.go``, livekit/psrpc's client errors,
and twitchtv/twirp's errors:

* ``POST /twirp/livekit.<Service>/<Method>`` with a serialized protobuf body and
  ``Content-Type: application/protobuf`` -- the only type the client sends, so Twirp's JSON
  variant is not served; any other type is ``bad_route``, as in Twirp's generated servers.
  Success is 200 with the serialized response message.
* Errors are Twirp JSON exactly as livekit-server writes them (:mod:`fakes.twirp`); what the
  SIP service returns, relayed with its ``twirp error unknown: `` prefix and SIP meta, is in
  :mod:`fakes.livekit_sip`. The client retries (region failover) only on 5xx or transport
  errors and only for ``*.livekit.cloud`` hosts, so against 127.0.0.1 every call is exactly
  one request.
* Auth as the server's middleware: a bearer token that does not verify (HS256 signature, ``iss``
  = API key, ``exp``/``nbf`` with one minute of leeway) gets 401 with a *plain-text* body, which
  the client surfaces as ``ServerError(code="unknown", status=401)``; a verified token without
  the grant the method needs gets Twirp ``unauthenticated`` (401) "permissions denied".
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from typing import Any

import jwt
from aiohttp import web
from google.protobuf.message import DecodeError, Message
from livekit.api.access_token import Claims, SIPGrants, TokenVerifier, VideoGrants
from livekit.protocol import agent_dispatch, models, room

from fakes.livekit_sip_rules import SipDispatchRules
from fakes.livekit_sip_service import SipService
from fakes.livekit_sip_trunks import SipTrunks
from fakes.local_http import LocalServer
from fakes.twirp import ROUTES, TwirpError, bad_route, new_id, relayed, rpc


def _allowed(claims: Claims, grants: tuple[str, ...], message: Any) -> bool:
    """The server's ``Ensure*Permission`` checks (pkg/service/auth.go); roomAdmin only counts
    for the very room the request names, destinationRoom for the room it names as such."""
    video, sip_grants = claims.video or VideoGrants(), claims.sip or SIPGrants()
    room_name = getattr(message, "room_name", getattr(message, "room", None))
    held = {
        "sip.call": sip_grants.call,
        "sip.admin": sip_grants.admin,
        "roomCreate": bool(video.room_create),
        "roomList": bool(video.room_list),
        "roomAdmin": bool(video.room_admin) and video.room == room_name,
        "destinationRoom": video.destination_room == getattr(message, "destination_room", None),
    }
    return all(held[grant] for grant in grants)


@dataclass(frozen=True)
class RecordedRequest:
    """One decoded request, kept whatever its outcome; ``claims`` is None without a token."""

    service: str  # "SIP", "RoomService" or "AgentDispatchService"
    method: str  # e.g. "CreateSIPParticipant"
    message: Message
    claims: Claims | None


# livekit-server's default limit.max_metadata_size (pkg/config/config.go)
MAX_METADATA_SIZE = 512 * 1024


class FakeLiveKitServer(SipService, SipTrunks, SipDispatchRules, LocalServer):
    """LiveKit's RoomService, SIP and AgentDispatchService on 127.0.0.1, state in memory.

    Rooms come into being through CreateRoom, CreateSIPParticipant, CreateDispatch or
    :meth:`add_participant`. The SIP half and its scripts are :class:`SipService`'s, trunks
    :class:`SipTrunks`' and dispatch rules :class:`SipDispatchRules`'. ``cloud``
    switches MoveParticipant between LiveKit Cloud (moves the participant) and self-hosted
    livekit-server (which does not implement it).

    Agent dispatches live in their room (``dispatches``) and go with it. The dispatch
    service reaches a room over psrpc on the room's topic (requireClaim): with no node
    serving the room -- it does not exist, or ``room_nodes`` is False (no media node
    answers) -- the server answers psrpc's ``ErrNoResponse``, relayed.
    """

    def __init__(
        self,
        api_key: str = "devkey",
        api_secret: str = "fake-livekit-api-secret-0123456789",
        *,
        cloud: bool = False,
    ) -> None:
        self.api_key, self.api_secret = api_key, api_secret  # HS256 wants >= 32-byte secrets
        self.cloud = cloud
        self.requests: list[RecordedRequest] = []
        self.rooms: dict[str, models.Room] = {}
        self.participants: dict[str, set[str]] = {}  # room name -> identities
        self.dispatches: dict[str, dict[str, agent_dispatch.AgentDispatch]] = {}  # room -> id
        self.room_nodes = True
        super().__init__()

    def routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/{path:.*}", self._handle)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``, for ``LiveKitAPI(url, ...)``, while running."""
        return self.origin

    def calls(self, method: str) -> list[Any]:
        """The decoded requests of ``method`` (e.g. "CreateSIPParticipant"), oldest first;
        each is that method's own request message, so its fields are read without casts."""
        return [r.message for r in self.requests if r.method == method]

    def add_participant(self, room_name: str, identity: str) -> None:
        """Put ``identity`` in ``room_name`` (creating the room), as the SIP bridge does when
        it dispatches an inbound caller."""
        self._room(room_name)
        self.participants[room_name].add(identity)

    async def _handle(self, request: web.Request) -> web.Response:
        claims: Claims | None = None
        if header := request.headers.get("Authorization", ""):
            try:
                if not header.startswith("Bearer "):
                    raise jwt.InvalidTokenError("authorization header must start with Bearer")
                verifier = TokenVerifier(self.api_key, self.api_secret)
                claims = verifier.verify(header.removeprefix("Bearer "))
            except jwt.PyJWTError as e:
                return web.Response(status=401, text=f"invalid authorization token: {e}")
        try:
            return await self._serve(request, claims)
        except TwirpError as e:
            return e.response()

    async def _serve(self, request: web.Request, claims: Claims | None) -> web.Response:
        match = re.fullmatch(r"/twirp/livekit\.(\w+)/(\w+)", request.path)
        route = ROUTES.get((match[1], match[2])) if match else None
        if request.method != "POST":
            msg = f"unsupported method {json.dumps(request.method)} (only POST is allowed)"
            raise bad_route(msg, request.method, request.path)
        if match is None or route is None:
            msg = f"no handler for path {json.dumps(request.path)}"
            raise bad_route(msg, request.method, request.path)
        if request.content_type != "application/protobuf":
            msg = f"unexpected Content-Type: {json.dumps(request.headers.get('Content-Type', ''))}"
            raise bad_route(msg, request.method, request.path)
        request_type, grants, handler = route
        try:
            message = request_type.FromString(await request.read())
        except DecodeError as e:
            raise TwirpError("malformed", "the protobuf request could not be decoded") from e
        self.requests.append(RecordedRequest(match[1], match[2], message, claims))
        if claims is None or not _allowed(claims, grants, message):
            raise TwirpError("unauthenticated", "permissions denied")
        reply = await handler(self, message)
        return web.Response(body=reply.SerializeToString(), content_type="application/protobuf")

    def _room(self, name: str) -> models.Room:
        if name not in self.rooms:
            now = time.time()
            self.rooms[name] = models.Room(
                sid=new_id("RM_"),
                name=name,
                creation_time=int(now),
                creation_time_ms=int(now * 1e3),
            )
            self.participants[name] = set()
            self.dispatches[name] = {}
        return self.rooms[name]

    def _room_node(self, name: str) -> dict[str, agent_dispatch.AgentDispatch]:
        """The dispatches of a room a node serves; else psrpc found no server for its topic
        (``psrpc.ErrNoResponse``, relayed by ``xtwirp.ToError``)."""
        if not self.room_nodes or name not in self.rooms:
            raise relayed("unavailable", "no response from servers")
        return self.dispatches[name]

    def _participant(self, room_name: str, identity: str) -> set[str]:
        if identity not in self.participants.get(room_name, set()):
            raise relayed("not_found", "participant does not exist")
        return self.participants[room_name]

    @rpc("RoomService", "CreateRoom", "roomCreate")
    async def _create_room(self, req: room.CreateRoomRequest) -> models.Room:
        if req.name not in self.rooms:  # an existing room is returned as it is
            info = self._room(req.name)
            info.empty_timeout, info.departure_timeout = req.empty_timeout, req.departure_timeout
            info.max_participants, info.metadata = req.max_participants, req.metadata
        return self.rooms[req.name]

    @rpc("RoomService", "ListRooms", "roomList")
    async def _list_rooms(self, req: room.ListRoomsRequest) -> room.ListRoomsResponse:
        for name, info in self.rooms.items():
            info.num_participants = len(self.participants[name])
        names = set(req.names) or set(self.rooms)
        return room.ListRoomsResponse(rooms=[r for n, r in self.rooms.items() if n in names])

    @rpc("RoomService", "DeleteRoom", "roomCreate")
    async def _delete_room(self, req: room.DeleteRoomRequest) -> room.DeleteRoomResponse:
        if self.rooms.pop(req.room, None) is None:
            raise relayed("not_found", "requested room does not exist")
        del self.participants[req.room]
        del self.dispatches[req.room]  # the room's agents go with it
        return room.DeleteRoomResponse()

    @rpc("RoomService", "RemoveParticipant", "roomAdmin")
    async def _kick(self, req: room.RoomParticipantIdentity) -> room.RemoveParticipantResponse:
        self._participant(req.room, req.identity).discard(req.identity)
        return room.RemoveParticipantResponse()

    @rpc("RoomService", "MoveParticipant", "roomAdmin", "destinationRoom")
    async def _move(self, req: room.MoveParticipantRequest) -> room.MoveParticipantResponse:
        if req.room == req.destination_room:  # twirp.InvalidArgumentError(msg, ""): note the space
            msg = "destination room cannot be the same as source room"
            raise TwirpError("invalid_argument", msg + " ", {"argument": msg})
        if not self.cloud:  # self-hosted livekit-server: roommanager.go answers this
            raise relayed("unknown", "not implemented")
        self._participant(req.room, req.identity).discard(req.identity)
        self.add_participant(req.destination_room, req.identity)
        return room.MoveParticipantResponse()

    @rpc("AgentDispatchService", "CreateDispatch", "roomAdmin")
    async def _dispatch(
        self, req: agent_dispatch.CreateAgentDispatchRequest
    ) -> agent_dispatch.AgentDispatch:
        # pkg/service/agent_dispatch_service.go: the limits, then the room (auto-created)
        if len(req.metadata.encode()) > MAX_METADATA_SIZE:
            raise relayed("invalid_argument", "metadata size exceeds limits")
        if self.room_nodes:
            self._room(req.room)
        dispatch = agent_dispatch.AgentDispatch(
            id=new_id("AD_"),
            agent_name=req.agent_name,
            room=req.room,
            metadata=req.metadata,
            deployment=req.deployment,
            attributes=req.attributes,
            state=agent_dispatch.AgentDispatchState(created_at=time.time_ns()),
        )
        self._room_node(req.room)[dispatch.id] = dispatch
        return dispatch

    @rpc("AgentDispatchService", "ListDispatch", "roomAdmin")
    async def _list_dispatch(
        self, req: agent_dispatch.ListAgentDispatchRequest
    ) -> agent_dispatch.ListAgentDispatchResponse:
        found = self._room_node(req.room).values()
        return agent_dispatch.ListAgentDispatchResponse(
            agent_dispatches=[d for d in found if req.dispatch_id in ("", d.id)]
        )

    @rpc("AgentDispatchService", "DeleteDispatch", "roomAdmin")
    async def _delete_dispatch(
        self, req: agent_dispatch.DeleteAgentDispatchRequest
    ) -> agent_dispatch.AgentDispatch:
        dispatch = self._room_node(req.room).pop(req.dispatch_id, None)
        if dispatch is None:  # pkg/rtc/room.go DeleteAgentDispatch
            raise relayed("not_found", "dispatch ID not found")
        return dispatch
