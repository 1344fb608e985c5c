"""How a call ended (the payload's ``status``): a module of its own, so that what counts
calls by it (the API's metrics and campaign counts) need not import the payload model."""

from __future__ import annotations

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
