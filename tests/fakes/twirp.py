"""Twirp as livekit-server speaks it: its errors byte for byte, and its routes.

From twitchtv/twirp v8 (``ServerHTTPStatusFromErrorCode``; the generated ``writeError`` and
``twerrJSON``) and livekit/protocol ``utils/xtwirp`` (``ToError``, ``WithDetailsFromStatus``):

* The body is Go's compact ``json.Marshal`` of ``{"code", "msg", "meta"}`` in that order,
  ``meta`` left out when empty and its keys sorted; ``<``, ``>``, ``&``, U+2028 and U+2029
  are escaped as ``\\u003c``-style sequences, other text is raw UTF-8; no trailing newline;
  ``Content-Type: application/json``.
* An error the server raises itself as a Twirp error (validation, a missing trunk, auth) is
  sent as it is. Anything else -- every psrpc error, hence all that the SIP service returns --
  goes through ``xtwirp.ToError``, which builds the message from ``twerr.Error()``: the text
  gains the literal prefix ``twirp error unknown: `` (:data:`RELAYED`), the code comes from
  the error's gRPC status, and details that define ``TwirpErrorMeta`` (``SIPStatus``,
  ``SIPTransferError``) add their keys to ``meta``, plus ``error_details``: the base64 of the
  ``google.rpc.Status`` (gRPC code, the message *without* the prefix, the details).
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, get_type_hints

from aiohttp import web
from google.protobuf import any_pb2
from google.protobuf.message import Message
from google.rpc import status_pb2

RELAYED = "twirp error unknown: "

# Twirp code -> HTTP status (twirp ServerHTTPStatusFromErrorCode); both timeouts are 408.
TWIRP_HTTP_STATUS = {
    "canceled": 408,
    "unknown": 500,
    "invalid_argument": 400,
    "malformed": 400,
    "deadline_exceeded": 408,
    "not_found": 404,
    "bad_route": 404,
    "already_exists": 409,
    "permission_denied": 403,
    "unauthenticated": 401,
    "resource_exhausted": 429,
    "failed_precondition": 412,
    "aborted": 409,
    "out_of_range": 400,
    "unimplemented": 501,
    "internal": 500,
    "unavailable": 503,
    "dataloss": 500,
}

# Twirp code -> the gRPC code number that ``error_details`` carries.
GRPC_CODES = {
    "canceled": 1,
    "unknown": 2,
    "invalid_argument": 3,
    "deadline_exceeded": 4,
    "not_found": 5,
    "already_exists": 6,
    "permission_denied": 7,
    "resource_exhausted": 8,
    "failed_precondition": 9,
    "aborted": 10,
    "out_of_range": 11,
    "unimplemented": 12,
    "internal": 13,
    "unavailable": 14,
    "dataloss": 15,
    "unauthenticated": 16,
}


def go_json(value: Any) -> bytes:
    """``json.Marshal``'s bytes for strings, dicts (keys sorted) and numbers."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=True)
    for char in "<>&\u2028\u2029":  # HTML-safe escaping, as encoding/json does by default
        text = text.replace(char, f"\\u{ord(char):04x}")
    return text.encode()


class TwirpError(Exception):
    """A Twirp error response: JSON ``{"code", "msg", "meta"}`` (meta omitted when empty)."""

    def __init__(self, code: str, msg: str, meta: dict[str, str] | None = None) -> None:
        super().__init__(f"{code}: {msg}")
        self.code, self.msg, self.meta = code, msg, dict(meta or {})

    @property
    def http_status(self) -> int:
        return TWIRP_HTTP_STATUS[self.code]

    def body(self) -> bytes:
        # Field order is the struct's (code, msg, meta), not sorted: only meta's keys are.
        parts = [b'"code":' + go_json(self.code), b'"msg":' + go_json(self.msg)]
        if self.meta:
            parts.append(b'"meta":' + go_json(self.meta))
        return b"{" + b",".join(parts) + b"}"

    def response(self) -> web.Response:
        return web.Response(
            status=self.http_status,
            body=self.body(),
            headers={"Content-Type": "application/json"},
        )


def error_details(code: str, message: str, details: list[Message]) -> str:
    """``meta.error_details``: base64 of ``google.rpc.Status{code, message, details}``."""
    packed = []
    for detail in details:
        wrapper = any_pb2.Any()
        wrapper.Pack(detail)  # type_url "type.googleapis.com/livekit.<Message>"
        packed.append(wrapper)
    status = status_pb2.Status(code=GRPC_CODES[code], message=message, details=packed)
    return base64.b64encode(status.SerializeToString()).decode()


def relayed(
    code: str,
    message: str,
    *,
    meta: dict[str, str] | None = None,
    details: list[Message] | None = None,
) -> TwirpError:
    """A psrpc error as clients see it (``xtwirp.ToError``): the prefixed message, and with
    details their ``meta`` keys and ``error_details``; without details no meta at all."""
    full_meta = dict(meta or {})
    if details:
        full_meta["error_details"] = error_details(code, message, details)
    return TwirpError(code, RELAYED + message, full_meta)


def invalid_unless(*rules: tuple[object, str], psrpc: bool = False) -> None:
    """Request validation: ``invalid_argument`` with the message of the first falsy rule;
    ``psrpc`` for the checks the server makes with psrpc errors, which arrive relayed."""
    for ok, msg in rules:
        if not ok:
            raise relayed("invalid_argument", msg) if psrpc else TwirpError("invalid_argument", msg)


def bad_route(msg: str, method: str, path: str) -> TwirpError:
    """Twirp's generated ``badRouteError``."""
    return TwirpError("bad_route", msg, {"twirp_invalid_route": f"{method} {path}"})


def new_id(prefix: str) -> str:
    """A LiveKit-style id: "RM_", "PA_", "SCL_", "STR_", ... and 12 characters."""
    return prefix + secrets.token_hex(6)


Handler = Callable[[Any, Any], Awaitable[Message]]
H = TypeVar("H", bound=Handler)
ROUTES: dict[tuple[str, str], tuple[type[Message], tuple[str, ...], Handler]] = {}


def rpc(service: str, method: str, *grants: str) -> Callable[[H], H]:
    """Serve the decorated handler at ``/twirp/livekit.<service>/<method>``; its ``req``
    annotation is the request type and ``grants`` what the caller's token must hold."""

    def register(handler: H) -> H:
        ROUTES[service, method] = (get_type_hints(handler)["req"], grants, handler)
        return handler

    return register
