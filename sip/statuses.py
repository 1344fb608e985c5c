"""What a failed SIP request means: for dialing a callee and for a transfer leg, side by side.

One table answers both questions, because LiveKit reports both the same way
(CreateSIPParticipant for a dial or a warm transfer's human leg, TransferSIPParticipant for
a cold transfer): a Twirp error that carries the SIP final response in ``meta`` when there
was one, and a bare Twirp code when there was not (the ringing timeout, the server's own
deadline, configuration errors). Every shape was traced through livekit/sip, livekit/protocol
(``sipCodeToGRPCCode``, ``xtwirp``) and livekit-server; tests/fakes/livekit_sip.py serves them.

The two columns differ on purpose. Dialing a callee asks "should we call again later?":
busy is ``busy``, a callee who rejects this call (603) is ``no_answer`` and retryable, and a
number that does not exist is ``failed`` for good. A transfer asks "what did the human's
side do?": busy or not answering is ``no_answer`` and an explicit rejection is
``declined``. ``reason`` is fixed text for logs and the call record, never caller data
(server messages are matched, never copied: some quote the dialed number).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import aiohttp
from livekit import api
from livekit.protocol import sip as lsip

from flows.engine.outcomes import DialFailure, DialOutcome, TransferFailure, TransferOutcome
from sip.livekit_errors import LIVEKIT_UNREACHABLE

# livekit-api allows a dialing request its ringing timeout plus 2 s; ours adds one more second,
# so that its own timeout normally fires first and ours bounds the whole wait whatever client
# is passed in (one with LiveKit Cloud's failover on would replay a timed-out request up to
# three times; the worker's has it off, service.live.sip_api).
REQUEST_MARGIN = 3.0


@dataclass(frozen=True)
class Meaning:
    """One row: what a failure means for a dial and for a transfer leg."""

    dial: DialOutcome
    retryable: bool  # dialing the callee again later can help
    transfer: TransferOutcome
    reason: str


_M = Meaning

# fmt: off
SIP_STATUSES: dict[int, Meaning] = {
    # SIP   dial         retry  transfer     reason
    # 3xx: LiveKit does not follow redirects, so the next attempt would be redirected too.
    300: _M("failed",    False, "failed",    "multiple choices: redirects are not followed"),
    301: _M("failed",    False, "failed",    "moved permanently: redirects are not followed"),
    302: _M("failed",    False, "failed",    "moved temporarily: redirects are not followed"),
    305: _M("failed",    False, "failed",    "use proxy: redirects are not followed"),
    380: _M("failed",    False, "failed",    "alternative service: redirects are not followed"),
    # 4xx: mostly the request or the trunk's setup, which a retry repeats.
    400: _M("failed",    False, "failed",    "bad request"),
    401: _M("failed",    False, "failed",    "unauthorized: the trunk's credentials were refused"),
    402: _M("failed",    False, "failed",    "payment required by the carrier"),
    403: _M("failed",    False, "failed",    "forbidden: the trunk may not make this call"),
    404: _M("failed",    False, "failed",    "number not found"),
    405: _M("failed",    False, "failed",    "method not allowed (a transfer the carrier refuses)"),
    406: _M("failed",    False, "failed",    "not acceptable"),
    407: _M("failed",    False, "failed",    "proxy auth: the trunk's credentials were refused"),
    408: _M("no_answer", True,  "no_answer", "request timeout: no answer"),
    409: _M("failed",    True,  "failed",    "conflict"),
    410: _M("failed",    False, "failed",    "gone: the number is no longer in service"),
    411: _M("failed",    False, "failed",    "length required"),
    412: _M("failed",    True,  "failed",    "conditional request failed"),
    413: _M("failed",    False, "failed",    "request entity too large"),
    414: _M("failed",    False, "failed",    "request URI too long"),
    415: _M("failed",    False, "failed",    "unsupported media type"),
    416: _M("failed",    False, "failed",    "unsupported URI scheme"),
    417: _M("failed",    False, "failed",    "unknown resource priority"),
    420: _M("failed",    False, "failed",    "bad extension"),
    421: _M("failed",    False, "failed",    "extension required"),
    422: _M("failed",    False, "failed",    "session interval too small"),
    423: _M("failed",    False, "failed",    "interval too brief"),
    424: _M("failed",    False, "failed",    "bad location information"),
    425: _M("failed",    False, "failed",    "bad alert message"),
    428: _M("failed",    False, "failed",    "caller identity required (STIR/SHAKEN)"),
    429: _M("failed",    False, "failed",    "provide referrer identity"),
    430: _M("failed",    True,  "failed",    "flow failed"),
    433: _M("failed",    False, "failed",    "anonymity disallowed: hidden numbers refused"),
    436: _M("failed",    False, "failed",    "bad identity info (STIR/SHAKEN)"),
    437: _M("failed",    False, "failed",    "unsupported certificate (STIR/SHAKEN)"),
    438: _M("failed",    False, "failed",    "invalid identity header (STIR/SHAKEN)"),
    439: _M("failed",    False, "failed",    "first hop lacks outbound support"),
    440: _M("failed",    True,  "failed",    "max breadth exceeded"),
    469: _M("failed",    False, "failed",    "bad info package"),
    470: _M("failed",    False, "failed",    "consent needed"),
    480: _M("no_answer", True,  "no_answer", "temporarily unavailable"),
    481: _M("failed",    True,  "failed",    "call or transaction does not exist"),
    482: _M("failed",    False, "failed",    "loop detected: the trunk's routing loops"),
    483: _M("failed",    False, "failed",    "too many hops: the trunk's routing loops"),
    484: _M("failed",    False, "failed",    "address incomplete"),
    485: _M("failed",    False, "failed",    "ambiguous address"),
    486: _M("busy",      True,  "no_answer", "busy here"),
    487: _M("no_answer", True,  "no_answer", "request terminated: the ringing was cancelled"),
    488: _M("failed",    False, "failed",    "not acceptable here: no common media"),
    489: _M("failed",    False, "failed",    "bad event"),
    491: _M("failed",    True,  "failed",    "request pending"),
    493: _M("failed",    False, "failed",    "undecipherable"),
    494: _M("failed",    False, "failed",    "security agreement required"),
    # 5xx: the carrier's trouble, which passes; except what it will never do.
    500: _M("failed",    True,  "failed",    "carrier internal error"),
    501: _M("failed",    False, "failed",    "not implemented by the carrier"),
    502: _M("failed",    True,  "failed",    "bad gateway"),
    503: _M("failed",    True,  "failed",    "carrier service unavailable"),
    504: _M("failed",    True,  "failed",    "carrier gateway timeout"),
    505: _M("failed",    False, "failed",    "SIP version not supported"),
    513: _M("failed",    False, "failed",    "message too large"),
    # 6xx: the callee's own final word, or a block on the way to them.
    600: _M("busy",      True,  "no_answer", "busy everywhere"),
    603: _M("no_answer", True,  "declined",  "declined: the callee rejected this call"),
    604: _M("failed",    False, "failed",    "number does not exist anywhere"),
    606: _M("failed",    False, "failed",    "not acceptable anywhere: no common media"),
    607: _M("failed",    False, "declined",  "unwanted: the callee rejects calls from us"),
    608: _M("failed",    False, "failed",    "rejected on the way (call blocking)"),
}

# A code the table does not list (a carrier's own): one retry, never connected.
UNLISTED_SIP_STATUS = _M("failed", True, "failed", "unlisted SIP status")

Cause = Literal[
    "ringing_timeout", "ringing_deadline", "server_deadline", "client_timeout",
    "no_final_response", "trunk_not_found", "trunk_no_numbers", "trunk_credentials",
    "invalid_request", "unauthenticated", "not_found", "unsupported", "sip_unavailable",
    "refused", "cancelled", "server_error", "unreachable", "unexpected",
]

WITHOUT_SIP_STATUS: dict[Cause, Meaning] = {
    # no SIP status         dial         retry  transfer     reason
    "ringing_timeout":   _M("no_answer", True,  "no_answer", "ringing timeout: nobody answered"),
    "ringing_deadline":  _M("no_answer", True,  "no_answer", "the SIP service's ringing timed out"),
    "server_deadline":   _M("no_answer", True,  "no_answer", "no answer before LiveKit's deadline"),
    "client_timeout":    _M("no_answer", True,  "no_answer", "no reply within the ringing timeout"),
    "no_final_response": _M("failed",    True,  "failed",    "the carrier sent no final response"),
    "trunk_not_found":   _M("failed",    False, "failed",    "the SIP trunk does not exist"),
    "trunk_no_numbers":  _M("failed",    False, "failed",    "the outbound trunk has no numbers"),
    "trunk_credentials": _M("failed",    False, "failed",    "the carrier wants credentials"),
    "invalid_request":   _M("failed",    False, "failed",    "LiveKit found the request invalid"),
    "unauthenticated":   _M("failed",    False, "failed",    "LiveKit refused the API key"),
    "not_found":         _M("failed",    False, "failed",    "the room, caller or call is gone"),
    "unsupported":       _M("failed",    False, "failed",    "not supported for this number"),
    "sip_unavailable":   _M("failed",    True,  "failed",    "no SIP service answered"),
    "refused":           _M("failed",    True,  "failed",    "LiveKit refused it in this state"),
    "cancelled":         _M("failed",    True,  "failed",    "LiveKit cancelled the request"),
    "server_error":      _M("failed",    True,  "failed",    "LiveKit server error"),
    "unreachable":       _M("failed",    True,  "failed",    "LiveKit server unreachable"),
    "unexpected":        _M("failed",    True,  "failed",    "unexpected error"),
}

# TransferSIPParticipant's own account of a failed transfer (meta ``sip_transfer_reason``,
# or the response body's ``reason``), when there is no SIP status to go by.
_T = TransferFailure
TRANSFER_REASONS: dict[str, TransferFailure] = {
    "STR_RINGING_TIMEOUT":         _T("no_answer", None, "the destination did not answer"),
    "STR_REJECTED":                _T("declined",  None, "the destination rejected it"),
    "STR_CALL_ENDED":              _T("failed",    None, "the call ended before it completed"),
    "STR_SUBSCRIPTION_TERMINATED": _T("failed",    None, "no final status from the carrier"),
    "STR_CANCELED":                _T("failed",    None, "the transfer was cancelled"),
}
# fmt: on

# Exact texts of LiveKit's own errors (livekit/sip, livekit-server, psrpc), which tell apart
# failures that share a Twirp code. Errors relayed from the SIP service carry this prefix.
_RELAYED = "twirp error unknown: "
_BY_MESSAGE: tuple[tuple[str, Cause], ...] = (
    ("sip request timed out", "ringing_timeout"),
    ("context deadline exceeded", "ringing_deadline"),
    ("request timed out", "server_deadline"),
    ("transaction failed to complete", "no_final_response"),
    ("requested sip trunk does not exist", "trunk_not_found"),
    ("no numbers on outbound trunk", "trunk_no_numbers"),
    ("sip server required auth", "trunk_credentials"),
    ("max auth retry attempts reached", "trunk_credentials"),
)
_BY_CODE: dict[str, Cause] = {
    "deadline_exceeded": "server_deadline",
    "canceled": "cancelled",
    "invalid_argument": "invalid_request",
    "malformed": "invalid_request",
    "out_of_range": "invalid_request",
    "bad_route": "invalid_request",
    "unauthenticated": "unauthenticated",
    "permission_denied": "unauthenticated",
    "not_found": "not_found",
    "unimplemented": "unsupported",
    "unavailable": "sip_unavailable",
    "resource_exhausted": "sip_unavailable",
    "failed_precondition": "refused",
    "aborted": "refused",
    "already_exists": "refused",
}


def dial_failure_for_sip_status(status: int) -> DialFailure:
    meaning = SIP_STATUSES.get(status, UNLISTED_SIP_STATUS)
    return DialFailure(meaning.dial, meaning.retryable, status, meaning.reason)


def transfer_failure_for_sip_status(status: int) -> TransferFailure:
    meaning = SIP_STATUSES.get(status, UNLISTED_SIP_STATUS)
    return TransferFailure(meaning.transfer, status, meaning.reason)


def dial_failure(exc: BaseException) -> DialFailure:
    """What an exception from CreateSIPParticipant means for the callee's call."""
    if (status := _sip_status(exc)) is not None:
        return dial_failure_for_sip_status(status)
    meaning = WITHOUT_SIP_STATUS[cause_of(exc)]
    return DialFailure(meaning.dial, meaning.retryable, None, meaning.reason)


def transfer_failure(exc: BaseException) -> TransferFailure:
    """What an exception from TransferSIPParticipant (or from dialing a warm transfer's
    human) means for the transfer: by SIP status, else by LiveKit's transfer reason."""
    if (status := _sip_status(exc)) is not None:
        return transfer_failure_for_sip_status(status)
    if isinstance(exc, api.ServerError):
        known = TRANSFER_REASONS.get(exc.metadata.get("sip_transfer_reason", ""))
        if known is not None:
            return known
    meaning = WITHOUT_SIP_STATUS[cause_of(exc)]
    return TransferFailure(meaning.transfer, None, meaning.reason)


def transfer_result(response: lsip.TransferSIPParticipantResponse) -> TransferFailure | None:
    """None when TransferSIPParticipant's 200 says the transfer completed; a 200 can also
    report a failure (``STS_TRANSFER_FAILED``, e.g. the call ended before the transfer did)."""
    if response.status == lsip.STS_TRANSFER_SUCCESSFUL:
        return None
    if response.status == lsip.STS_TRANSFER_ONGOING and not response.transfer_id:
        return None  # servers before livekit/sip#807 answer a completed transfer with {}
    if response.sip_status.code >= 300:
        return transfer_failure_for_sip_status(response.sip_status.code)
    known = TRANSFER_REASONS.get(lsip.SIPTransferReason.Name(response.reason))
    if known is not None and response.status == lsip.STS_TRANSFER_FAILED:
        return known
    return TransferFailure("failed", None, "the transfer did not complete")


def cause_of(exc: BaseException) -> Cause:
    """The row of a failure that carries no SIP status."""
    if isinstance(exc, api.ServerError):
        text = exc.message.removeprefix(_RELAYED)
        for start, cause in _BY_MESSAGE:
            if text.startswith(start):
                return cause
        if exc.status == 401:  # a token the server cannot verify: a plain-text body, no code
            return "unauthenticated"
        return _BY_CODE.get(exc.code, "server_error")
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return "unreachable"
    if isinstance(exc, TimeoutError):  # livekit-api's own: ringing timeout + 2 s, or ours
        return "client_timeout"
    if isinstance(exc, LIVEKIT_UNREACHABLE):  # what is left of it, timeouts told apart above
        return "unreachable"
    return "unexpected"


def _sip_status(exc: BaseException) -> int | None:
    """The SIP final response a LiveKit error carries (``meta.sip_status_code``), if any."""
    if not isinstance(exc, api.ServerError):
        return None
    raw = exc.metadata.get("sip_status_code", "")
    return int(raw) if raw.isdigit() and int(raw) >= 300 else None


INVALID_NUMBER = DialFailure("failed", False, None, "not a valid phone number")

# What a real dial of each outcome would have reported, for simulated calls that record it
# (``intake serve --simulate``): the SIP status and whether dialling again can help. A
# voicemail is a dial that connected.
SIMULATED_DIAL_FAILURES: dict[DialOutcome, DialFailure] = {
    "busy": dial_failure_for_sip_status(486),
    "no_answer": DialFailure(
        "no_answer",
        WITHOUT_SIP_STATUS["ringing_timeout"].retryable,
        None,
        WITHOUT_SIP_STATUS["ringing_timeout"].reason,
    ),
    "failed": dial_failure_for_sip_status(503),
}
