"""The outcome vocabulary: how a call ended, what a dial and a transfer came to.

A module of its own, so that what counts calls by status (the API's metrics and campaign
counts) need not import the payload model. Every status and outcome is a ``Literal``;
``sip.statuses`` maps SIP responses onto the dial and transfer outcomes here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

CallStatus = Literal[
    "completed",
    "incomplete",
    "transferred",
    "declined",
    "voicemail",
    "no_answer",
    "busy",
    "failed",
]
CALL_STATUSES: tuple[CallStatus, ...] = get_args(CallStatus)

EndedReason = Literal[
    "completed",
    "caller_hangup",
    "no_input",
    "declined",
    "collection_failed",
    "caller_request",
    "emergency",
    "voicemail",
    "no_answer",
    "busy",
    "error",
]
TransferOutcome = Literal["connected", "no_answer", "declined", "failed"]
DialOutcome = Literal["answered", "busy", "no_answer", "voicemail", "failed"]
Direction = Literal["inbound", "outbound"]

# A dial that never reached a person: the payload's status and ended reason.
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


@dataclass(frozen=True)
class TransferFailure:
    """A transfer that did not connect: the payload's outcome, and why."""

    outcome: TransferOutcome
    sip_status: int | None = None
    reason: str = ""
