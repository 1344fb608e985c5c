"""What a dial attempt's outcome means for the call's payload."""

from __future__ import annotations

from typing import Literal

from flows.payload import CallStatus, EndedReason

DialOutcome = Literal["answered", "busy", "no_answer", "voicemail", "failed"]

UNANSWERED: dict[DialOutcome, tuple[CallStatus, EndedReason]] = {
    "busy": ("busy", "busy"),
    "no_answer": ("no_answer", "no_answer"),
    "voicemail": ("voicemail", "voicemail"),
    "failed": ("failed", "error"),
}
