"""What a dial attempt's outcome means for the call, and which SIP failures mean what.

SIP final responses on an outbound INVITE, grouped the way an operator acts on them:
the line was busy, nobody answered, the number is wrong (do not retry), or the trunk
refused the call for now (retry later). Anything else is a failure worth one retry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from flows.payload import CallStatus, EndedReason

DialOutcome = Literal["answered", "busy", "no_answer", "voicemail", "failed"]

UNANSWERED: dict[DialOutcome, tuple[CallStatus, EndedReason]] = {
    "busy": ("busy", "busy"),
    "no_answer": ("no_answer", "no_answer"),
    "voicemail": ("voicemail", "voicemail"),
    "failed": ("failed", "error"),
}


@dataclass(frozen=True)
class DialFailure:
    """A dial that did not connect: what it means, whether retrying can help, and why."""

    outcome: DialOutcome
    retryable: bool
    sip_status: int | None = None
    reason: str = ""


_BY_SIP_STATUS: dict[int, tuple[DialOutcome, bool, str]] = {
    486: ("busy", True, "busy here"),
    600: ("busy", True, "busy everywhere"),
    408: ("no_answer", True, "request timeout"),
    480: ("no_answer", True, "temporarily unavailable"),
    487: ("no_answer", True, "request terminated (ringing timed out)"),
    404: ("failed", False, "number not found"),
    484: ("failed", False, "address incomplete"),
    403: ("failed", True, "forbidden by the trunk"),
    429: ("failed", True, "trunk rate limit"),
    503: ("failed", True, "trunk unavailable"),
}


def failure_for_sip_status(status: int | None) -> DialFailure:
    """Map a SIP final response code to a dial failure; unknown codes fail retryably."""
    if status is not None and status in _BY_SIP_STATUS:
        outcome, retryable, reason = _BY_SIP_STATUS[status]
        return DialFailure(outcome, retryable, status, reason)
    return DialFailure("failed", True, status, "dial failed")


INVALID_NUMBER = DialFailure("failed", False, None, "not a valid phone number")
