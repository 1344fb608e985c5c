"""The errors LiveKit's SIP API returns, as the local server sends them.

Traced through livekit/sip (``pkg/sip/outbound.go``, ``protocol.go``, ``pkg/errors``),
livekit/protocol (``livekit/sip.go``: ``sipCodeToGRPCCode``, ``SIPStatus.Error`` and
``TwirpErrorMeta``) and livekit-server (``pkg/service/sip.go``). Every SIP failure travels
as a psrpc error carrying a ``SIPStatus`` (``siperrors.ApplySIPStatus``), so it reaches the
client relayed (see :mod:`fakes.twirp`): ``twirp error unknown: <message>`` with meta
``sip_status_code``, ``sip_status`` and ``error_details``. The Twirp code follows the
*current* mapping (protocol #1766: 480 and 486 are ``failed_precondition``).

A failed transfer also carries ``sip_transfer_reason`` and ``sip_transfer_id`` (the
``SIPTransferError`` detail of livekit/sip#838, which livekit-api 1.2.2 reads); that detail's
exact Go shape was not published, so :func:`transfer_failure` is the best reading of it.
"""

from __future__ import annotations

from dataclasses import dataclass

from livekit.protocol import sip

from fakes.twirp import TwirpError, relayed

# SIP final response -> Twirp code: livekit/protocol ``sipCodeToGRPCCode`` in full, after
# #1766. A code it does not list is invalid_argument (3xx, 4xx, 6xx) or failed_precondition (5xx).
SIP_TWIRP_CODES = {
    "invalid_argument": (
        *(300, 305, 380, 400, 405, 406, 411, 413, 414, 415, 417, 420, 421, 422, 423, 424),
        *(425, 429, 430, 439, 469, 484, 485, 488, 489, 493, 505, 513, 606),
    ),
    "not_found": (301, 302, 404, 410, 481, 604),
    "permission_denied": (401, 402, 403, 433, 470, 603, 607, 608),
    "unauthenticated": (407, 428, 436, 437, 438, 494),
    "deadline_exceeded": (408, 504),
    "failed_precondition": (409, 412, 480, 482, 483, 486, 500, 501, 502, 503),
    "out_of_range": (416,),
    "resource_exhausted": (440, 600),
    "aborted": (487, 491),
}

# Reason phrases the fake sends when a test gives none (RFC 3261 and its extensions).
SIP_PHRASES = {
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    410: "Gone",
    429: "Provide Referrer Identity",
    480: "Temporarily Unavailable",
    484: "Address Incomplete",
    486: "Busy Here",
    487: "Request Terminated",
    500: "Server Internal Error",
    501: "Not Implemented",
    503: "Service Unavailable",
    600: "Busy Everywhere",
    603: "Decline",
    604: "Does Not Exist Anywhere",
    607: "Unwanted",
}

# The final responses livekit/sip reports as "INVITE failed" (the rest: "unexpected status").
_INVITE_FAILED = frozenset({400, 404, 480, 486, 488})

# Errors without a SIP status (the message is relayed, so it gains the prefix).
RINGING_TIMEOUT = relayed("canceled", "sip request timed out")  # the bridge's ringing timer
SERVER_DEADLINE = relayed("deadline_exceeded", "request timed out")  # livekit-server's psrpc timer
BRIDGE_DEADLINE = relayed("canceled", "context deadline exceeded")  # a transfer's, at the bridge
ANSWER_RACE = relayed("failed_precondition", "context deadline exceeded")  # answered as it expired
NO_SIP_SERVICE = relayed("unavailable", "no response from servers")
SIP_OVERLOADED = relayed("unavailable", "cpu exhausted")
NO_TRUNK_NUMBERS = relayed("failed_precondition", "no numbers on outbound trunk")
TRUNK_NOT_FOUND = TwirpError("not_found", "requested sip trunk does not exist")  # no prefix
TRANSFER_UNSUPPORTED = relayed(
    "unimplemented", "we don't yet support transfers for this phone number type"
)


def transaction_timeout(intermediate_responses: int = 0) -> TwirpError:
    """No final response to the INVITE (or REFER) before SIP's Timer B/F."""
    n = intermediate_responses
    return relayed("canceled", f"transaction failed to complete ({n} intermediate responses)")


def twirp_code(sip_code: int) -> str:
    listed = next((c for c, codes in SIP_TWIRP_CODES.items() if sip_code in codes), None)
    if listed is not None:
        return listed
    return "failed_precondition" if 500 <= sip_code < 600 else "invalid_argument"


def _status(sip_code: int, reason: str | None) -> tuple[sip.SIPStatus, str, dict[str, str]]:
    """The ``SIPStatus``, its ``Error()`` text and its ``TwirpErrorMeta()``. ``reason`` None
    sends the usual phrase; "" sends none, as some carriers do."""
    phrase = SIP_PHRASES.get(sip_code, "") if reason is None else reason
    status = sip.SIPStatus(code=sip_code, status=phrase)  # type: ignore[arg-type]
    name = sip.SIPStatusCode.Name(sip_code) if sip_code in sip.SIPStatusCode.values() else ""
    if phrase:
        text = f"sip status: {sip_code}: {phrase}"
    else:  # SIPStatusCode.ShortName(); an unlisted code prints as its number
        text = f"sip status: {sip_code} ({name.removeprefix('SIP_STATUS_') or sip_code})"
    meta = {"sip_status_code": str(sip_code), "sip_status": phrase or name or str(sip_code)}
    return status, text, meta


def invite_failure(sip_code: int, reason: str | None = None) -> TwirpError:
    """CreateSIPParticipant(wait_until_answered) ended by this SIP final response."""
    status, text, meta = _status(sip_code, reason)
    context = (
        "INVITE failed: "
        if sip_code in _INVITE_FAILED
        else "unexpected status from INVITE response: "
    )
    return relayed(twirp_code(sip_code), context + text, meta=meta, details=[status])


def transfer_failure(
    sip_code: int,
    reason: str | None = None,
    *,
    transfer_id: str,
    refer: bool = False,
    transfer_reason: str = "STR_REJECTED",
) -> TwirpError:
    """TransferSIPParticipant failed with a SIP status: the REFER itself was rejected
    (``refer``: a bare ``SIPStatus``) or the final NOTIFY reported it ("call transfer failed")."""
    status, text, meta = _status(sip_code, reason)
    meta |= {"sip_transfer_id": transfer_id, "sip_transfer_reason": transfer_reason}
    detail = sip.SIPTransferError(  # a ValueError for an unknown reason name
        transfer_id=transfer_id, reason=transfer_reason, sip_status=status
    )
    message = text if refer else f"call transfer failed: {text}"
    return relayed(twirp_code(sip_code), message, meta=meta, details=[status, detail])


def subscription_terminated(transfer_id: str, reason: str = "noresource") -> TwirpError:
    """The REFER subscription ended without a final NOTIFY status (livekit/sip#807): 500."""
    text = (
        f'REFER subscription terminated without a final status (reason "{reason}", last status 100)'
    )
    detail = sip.SIPTransferError(transfer_id=transfer_id, reason=sip.STR_SUBSCRIPTION_TERMINATED)
    meta = {"sip_transfer_id": transfer_id, "sip_transfer_reason": "STR_SUBSCRIPTION_TERMINATED"}
    return relayed("internal", f"call transfer failed: {text}", meta=meta, details=[detail])


@dataclass(frozen=True)
class Unanswered:
    """Nobody answers: the request ends at its ringing timeout with ``canceled`` "sip request
    timed out" (a dial) or ``deadline_exceeded`` "request timed out" (a transfer; with
    ``bridge_wins``, ``canceled`` "context deadline exceeded"). Past the server's own deadline
    (80 s for a dial), that deadline's ``deadline_exceeded`` comes first."""

    bridge_wins: bool = False


@dataclass(frozen=True)
class Hangs:
    """The server never replies (a stuck SIP bridge): only the client's timeout ends it."""


def ringing_timeout(
    req: sip.CreateSIPParticipantRequest | sip.TransferSIPParticipantRequest,
) -> float:
    """The request's ringing timeout in seconds; unset, livekit-server's 30 s for a transfer
    (livekit-api always sets it on a dial that waits for the answer)."""
    if not req.HasField("ringing_timeout"):
        return 30.0
    return float(req.ringing_timeout.ToNanoseconds()) / 1e9


def transfer_completed(transfer_id: str) -> sip.TransferSIPParticipantResponse:
    """The 200 of a transfer that completed (livekit/sip#807), no SIP status."""
    return sip.TransferSIPParticipantResponse(
        transfer_id=transfer_id, status=sip.STS_TRANSFER_SUCCESSFUL, reason=sip.STR_COMPLETED
    )


def transfer_call_ended(transfer_id: str) -> sip.TransferSIPParticipantResponse:
    """The 200 of a transfer whose call ended before the final NOTIFY: a failure in a 200."""
    return sip.TransferSIPParticipantResponse(
        transfer_id=transfer_id, status=sip.STS_TRANSFER_FAILED, reason=sip.STR_CALL_ENDED
    )
