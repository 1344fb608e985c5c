"""A LiveKit server API stand-in that speaks Twirp, for driving the real ``livekit-api`` client.

The wire protocol was read from the client (livekit-api 1.2.2: ``livekit/api/twirp_client.py``,
``_failover.py``, ``_service.py``, ``access_token.py``, ``sip_service.py``) and the server side
reproduced from livekit/livekit ``pkg/service/{auth,sip,roomservice,agent_dispatch_service}.go``,
livekit/protocol ``livekit/sip.go`` and ``utils/xtwirp/errors.go``, and twitchtv/twirp's errors:

* ``POST /twirp/livekit.<Service>/<Method>`` with a serialized protobuf body and
  ``Content-Type: application/protobuf`` -- the only type the client sends, so Twirp's JSON
  variant is not served; any other type is ``bad_route``, as in Twirp's generated servers.
  Success is 200 with the serialized response message.
* Errors are Twirp JSON ``{"code", "msg", "meta"}`` with Twirp's HTTP status for the code. The
  client retries (region failover) only on 5xx or transport errors and only for
  ``*.livekit.cloud`` hosts, so against 127.0.0.1 every call is exactly one request; SIP failures
  get the 4xx statuses the real server maps them to (see ``SIP_TWIRP_CODES``), never a 5xx.
* Auth as the server's middleware: a bearer token that does not verify (HS256 signature, ``iss``
  = API key, ``exp``/``nbf`` with one minute of leeway) gets 401 with a *plain-text* body, which
  the client surfaces as ``ServerError(code="unknown", status=401)``; a verified token without
  the grant the method needs gets Twirp ``unauthenticated`` (401) "permissions denied".
"""

from __future__ import annotations

import asyncio
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar, get_type_hints

import jwt
from aiohttp import web
from google.protobuf.message import DecodeError, Message
from livekit.api.access_token import Claims, SIPGrants, TokenVerifier, VideoGrants
from livekit.protocol import agent_dispatch, models, room, sip

from fakes.local_http import LocalServer

# Twirp error code -> HTTP status (twitchtv/twirp ServerHTTPStatusFromErrorCode), codes used here.
TWIRP_HTTP_STATUS = {
    "bad_route": 404,
    "malformed": 400,
    "invalid_argument": 400,
    "not_found": 404,
    "unauthenticated": 401,
    "permission_denied": 403,
    "deadline_exceeded": 408,
    "resource_exhausted": 429,
    "aborted": 409,
    "failed_precondition": 412,
    "out_of_range": 400,
}

# SIP final response -> Twirp code: livekit/protocol ``sipCodeToGRPCCode`` (livekit/sip.go) in
# full; every code not listed, mapped or not, comes out of the real server as invalid_argument.
SIP_TWIRP_CODES = {
    "not_found": (301, 302, 404, 410, 481, 604),
    "permission_denied": (401, 402, 403, 433, 470, 603, 607, 608),
    "unauthenticated": (407, 428, 436, 437, 438, 494),
    "deadline_exceeded": (408, 504),
    "failed_precondition": (409, 412, 482, 483, 500, 501, 502, 503),
    "out_of_range": (416,),
    "resource_exhausted": (440, 480, 486, 600),
    "aborted": (487, 491),
}

# RFC 3261/3892 reason phrases the fake sends when a test gives none.
SIP_PHRASES = {
    403: "Forbidden",
    404: "Not Found",
    408: "Request Timeout",
    429: "Provide Referrer Identity",
    480: "Temporarily Unavailable",
    484: "Address Incomplete",
    486: "Busy Here",
    487: "Request Terminated",
    503: "Service Unavailable",
    600: "Busy Everywhere",
    603: "Decline",
}


class TwirpError(Exception):
    """A Twirp error response: JSON ``{"code", "msg", "meta"}`` (meta omitted when empty)."""

    def __init__(self, code: str, msg: str, meta: dict[str, str] | None = None) -> None:
        super().__init__(f"{code}: {msg}")
        self.code, self.msg, self.meta = code, msg, meta or {}

    def response(self) -> web.Response:
        body: dict[str, Any] = {"code": self.code, "msg": self.msg}
        if self.meta:
            body["meta"] = self.meta
        return web.json_response(body, status=TWIRP_HTTP_STATUS[self.code])


def sip_error(code: int, reason: str | None = None, **meta: str) -> TwirpError:
    """The error the server relays for a SIP failure (``SIPStatus.GRPCStatus`` and
    ``TwirpErrorMeta``): ``meta.sip_status_code``/``sip_status`` are what ``SipCallError`` reads.
    Without a reason phrase the server sends the ``SIPStatusCode`` name."""
    twirp_code = next(
        (c for c, sips in SIP_TWIRP_CODES.items() if code in sips), "invalid_argument"
    )
    status = reason or SIP_PHRASES.get(code) or sip.SIPStatusCode.Name(code)
    meta = {"sip_status_code": str(code), "sip_status": status, **meta}
    return TwirpError(twirp_code, f"sip status {code}: {status}", meta)


def _check(*rules: tuple[object, str]) -> None:
    """Request validation: ``invalid_argument`` with the message of the first falsy rule."""
    for ok, msg in rules:
        if not ok:
            raise TwirpError("invalid_argument", msg)


def _allowed(claims: Claims, grants: tuple[str, ...], message: Any) -> bool:
    """The server's ``Ensure*Permission`` checks (pkg/service/auth.go); roomAdmin only counts
    for the very room the request names."""
    video, sip_grants = claims.video or VideoGrants(), claims.sip or SIPGrants()
    room_name = getattr(message, "room_name", getattr(message, "room", None))
    held = {
        "sip.call": sip_grants.call,
        "sip.admin": sip_grants.admin,
        "roomCreate": bool(video.room_create),
        "roomList": bool(video.room_list),
        "roomAdmin": bool(video.room_admin) and video.room == room_name,
    }
    return all(held[grant] for grant in grants)


Handler = Callable[[Any, Any], Awaitable[Message]]
H = TypeVar("H", bound=Handler)
_ROUTES: dict[tuple[str, str], tuple[type[Message], tuple[str, ...], Handler]] = {}


def _rpc(service: str, method: str, *grants: str) -> Callable[[H], H]:
    """Serve the decorated handler at ``/twirp/livekit.<service>/<method>``; its ``req``
    annotation is the request type and ``grants`` what the caller's token must hold."""

    def register(handler: H) -> H:
        _ROUTES[service, method] = (get_type_hints(handler)["req"], grants, handler)
        return handler

    return register


def _new_id(prefix: str) -> str:
    return prefix + secrets.token_hex(6)


@dataclass(frozen=True)
class RecordedRequest:
    """One decoded request, kept whatever its outcome; ``claims`` is None without a token."""

    service: str  # "SIP", "RoomService" or "AgentDispatchService"
    method: str  # e.g. "CreateSIPParticipant"
    message: Message
    claims: Claims | None


class FakeLiveKitServer(LocalServer):
    """LiveKit's RoomService, SIP and AgentDispatchService on 127.0.0.1, state in memory.

    Rooms come into being through CreateRoom, CreateSIPParticipant, CreateDispatch or
    :meth:`add_participant`; DeleteRoom, RemoveParticipant and TransferSIPParticipant on an
    unknown room or participant are ``not_found``, as on the real server. CreateSIPParticipant
    does not check ``sip_trunk_id`` against the stored trunks.
    """

    def __init__(
        self, api_key: str = "devkey", api_secret: str = "fake-livekit-api-secret-0123456789"
    ) -> None:
        self.api_key, self.api_secret = api_key, api_secret  # HS256 wants >= 32-byte secrets
        self.requests: list[RecordedRequest] = []
        self.answer_delay = 0.0  # seconds of ringing before a wait_until_answered dial ends
        self.rooms: dict[str, models.Room] = {}
        self.participants: dict[str, set[str]] = {}  # room name -> identities
        self.outbound_trunks: dict[str, sip.SIPOutboundTrunkInfo] = {}
        self._sip_failures: dict[str, tuple[int, str | None]] = {}
        self._transfer_failure: tuple[int, str | None, str] | None = None
        super().__init__()

    def routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/{path:.*}", self._handle)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``, for ``LiveKitAPI(url, ...)``, while running."""
        return self.origin

    def calls(self, method: str) -> list[Message]:
        """The decoded requests of ``method`` (e.g. "CreateSIPParticipant"), oldest first."""
        return [r.message for r in self.requests if r.method == method]

    def fail_sip(self, number: str, status_code: int, reason: str | None = None) -> None:
        """Dials to ``number`` (``sip_call_to``) end with this SIP final response, ``reason``
        defaulting to the RFC 3261 phrase. As on the real server the error only reaches the
        caller of a ``wait_until_answered`` dial; without it the dial "succeeds" (the call then
        fails in the background) and no participant joins."""
        sip.SIPStatusCode.Name(status_code)  # a ValueError for a code the protocol doesn't have
        self._sip_failures[number] = (status_code, reason)

    def fail_transfer(
        self, status_code: int, reason: str | None = None, *, transfer_reason: str = "STR_REJECTED"
    ) -> None:
        """Every TransferSIPParticipant from now on fails with this SIP response; the error
        also carries ``sip_transfer_reason`` (a ``SIPTransferReason`` name) and
        ``sip_transfer_id``, which ``SipCallError`` exposes."""
        sip.SIPStatusCode.Name(status_code)  # a ValueError for a code the protocol doesn't have
        sip.SIPTransferReason.Value(transfer_reason)  # ... and for an unknown reason name
        self._transfer_failure = (status_code, reason, transfer_reason)

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
        route = _ROUTES.get((match[1], match[2])) if match else None
        if match is None or route is None or request.method != "POST":
            raise TwirpError("bad_route", f"no handler for path {request.path!r}")
        if request.content_type != "application/protobuf":
            raise TwirpError("bad_route", f"unexpected Content-Type: {request.content_type!r}")
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
                sid=_new_id("RM_"),
                name=name,
                creation_time=int(now),
                creation_time_ms=int(now * 1e3),
            )
            self.participants[name] = set()
        return self.rooms[name]

    def _participant(self, room_name: str, identity: str) -> set[str]:
        if identity not in self.participants.get(room_name, set()):
            raise TwirpError("not_found", "participant does not exist")
        return self.participants[room_name]

    @_rpc("SIP", "CreateSIPParticipant", "sip.call")
    async def _dial(self, req: sip.CreateSIPParticipantRequest) -> sip.SIPParticipantInfo:
        _check(  # CreateSIPParticipantRequest.Validate in livekit/protocol
            (req.sip_trunk_id or req.HasField("trunk"), "missing sip trunk id"),
            (req.sip_call_to, "missing sip callee number"),
            ("@" not in req.sip_call_to, "SipCallTo should be a phone number, not a SIP URI"),
            (req.room_name, "missing room name"),
        )
        failure = self._sip_failures.get(req.sip_call_to)
        if req.wait_until_answered:
            await asyncio.sleep(self.answer_delay)
            if failure is not None:
                raise sip_error(*failure)
        identity = req.participant_identity or f"sip_{req.sip_call_to}"
        if failure is None:
            self.add_participant(req.room_name, identity)
        return sip.SIPParticipantInfo(
            participant_id=_new_id("PA_"),
            participant_identity=identity,
            room_name=req.room_name,
            sip_call_id=_new_id("SCL_"),
        )

    @_rpc("SIP", "TransferSIPParticipant", "sip.call", "roomAdmin")
    async def _transfer(
        self, req: sip.TransferSIPParticipantRequest
    ) -> sip.TransferSIPParticipantResponse:
        _check(  # the server's own checks, then TransferSIPParticipantRequest.Validate
            (req.room_name, "Missing room name"),
            (req.participant_identity, "Missing participant identity"),
            (re.match(r"<?(sips?|tel):", req.transfer_to), "transfer_to must be a SIP/TEL URI"),
        )
        in_room = self._participant(req.room_name, req.participant_identity)
        transfer_id = _new_id("STR_")
        if self._transfer_failure is not None:
            code, reason, why = self._transfer_failure
            raise sip_error(code, reason, sip_transfer_reason=why, sip_transfer_id=transfer_id)
        in_room.discard(req.participant_identity)  # the caller is handed off
        return sip.TransferSIPParticipantResponse(
            transfer_id=transfer_id,
            status=sip.STS_TRANSFER_SUCCESSFUL,
            reason=sip.STR_COMPLETED,
            sip_status=sip.SIPStatus(code=sip.SIP_STATUS_OK, status="OK"),
        )

    @_rpc("RoomService", "CreateRoom", "roomCreate")
    async def _create_room(self, req: room.CreateRoomRequest) -> models.Room:
        if req.name not in self.rooms:  # an existing room is returned as it is
            info = self._room(req.name)
            info.empty_timeout, info.departure_timeout = req.empty_timeout, req.departure_timeout
            info.max_participants, info.metadata = req.max_participants, req.metadata
        return self.rooms[req.name]

    @_rpc("RoomService", "ListRooms", "roomList")
    async def _list_rooms(self, req: room.ListRoomsRequest) -> room.ListRoomsResponse:
        for name, info in self.rooms.items():
            info.num_participants = len(self.participants[name])
        names = set(req.names) or set(self.rooms)
        return room.ListRoomsResponse(rooms=[r for n, r in self.rooms.items() if n in names])

    @_rpc("RoomService", "DeleteRoom", "roomCreate")
    async def _delete_room(self, req: room.DeleteRoomRequest) -> room.DeleteRoomResponse:
        if self.rooms.pop(req.room, None) is None:
            raise TwirpError("not_found", "requested room does not exist")
        del self.participants[req.room]
        return room.DeleteRoomResponse()

    @_rpc("RoomService", "RemoveParticipant", "roomAdmin")
    async def _kick(self, req: room.RoomParticipantIdentity) -> room.RemoveParticipantResponse:
        self._participant(req.room, req.identity).discard(req.identity)
        return room.RemoveParticipantResponse()

    @_rpc("AgentDispatchService", "CreateDispatch", "roomAdmin")
    async def _dispatch(
        self, req: agent_dispatch.CreateAgentDispatchRequest
    ) -> agent_dispatch.AgentDispatch:
        self._room(req.room)  # the server creates the room the agent is sent to
        return agent_dispatch.AgentDispatch(
            id=_new_id("AD_"),
            agent_name=req.agent_name,
            room=req.room,
            metadata=req.metadata,
            deployment=req.deployment,
            attributes=req.attributes,
            state=agent_dispatch.AgentDispatchState(created_at=time.time_ns()),
        )

    @_rpc("SIP", "CreateSIPOutboundTrunk", "sip.admin")
    async def _new_trunk(self, req: sip.CreateSIPOutboundTrunkRequest) -> sip.SIPOutboundTrunkInfo:
        trunk = sip.SIPOutboundTrunkInfo()
        trunk.CopyFrom(req.trunk)  # the recorded request stays as it was received
        _check(  # CreateSIPOutboundTrunkRequest.Validate in livekit/protocol
            (not trunk.sip_trunk_id, "trunk id must not be set"),
            (trunk.numbers, "no trunk numbers specified"),
            (trunk.address, "no outbound address specified"),
        )
        trunk.sip_trunk_id = _new_id("ST_")
        self.outbound_trunks[trunk.sip_trunk_id] = trunk
        return trunk

    @_rpc("SIP", "ListSIPOutboundTrunk", "sip.admin")
    async def _trunks(
        self, req: sip.ListSIPOutboundTrunkRequest
    ) -> sip.ListSIPOutboundTrunkResponse:
        # ListSIPOutboundTrunkRequest.Filter: by id, and by number when both sides list numbers
        ids, numbers = set(req.trunk_ids), set(req.numbers)
        return sip.ListSIPOutboundTrunkResponse(
            items=[
                t
                for t in self.outbound_trunks.values()
                if (not ids or t.sip_trunk_id in ids)
                and (not numbers or not t.numbers or numbers & set(t.numbers))
            ]
        )
