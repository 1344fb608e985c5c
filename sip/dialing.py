"""Placing an outbound call: the job's metadata, and ``LiveKitDialer``, the LiveKit
implementation of ``flows.engine.ports.Dialer``.

The order follows LiveKit's outbound-caller example: the agent's session is started
first (so nothing the callee says is missed), then the callee is dialed with
``wait_until_answered``. Whatever CreateSIPParticipant raises becomes a ``DialFailure``
through the table in ``sip.statuses`` (a SIP failure keeps its status code).
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass
from typing import Annotated, Any

from livekit import api
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from flows.engine.json_types import JsonObject
from flows.engine.outcomes import DialFailure
from flows.engine.phones import to_e164
from flows.engine.ports import DialRequest
from flows.errors import AnswerError, dotted, one_line_reason
from sip.dispatch import InboundDispatch
from sip.errors import JobMetadataError
from sip.livekit_errors import LIVEKIT_REQUEST_ERRORS
from sip.statuses import INVALID_NUMBER, REQUEST_MARGIN, dial_failure
from sip.trunks import no_trunk_named, outbound_trunk_id

CALL_ID = re.compile(r"^call_[0-9A-Za-z]{6,40}$")


class OutboundJob(BaseModel):
    """Job metadata of an outbound call: ``{call_id, to, from?, flow, metadata}``."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    call_id: Annotated[str, Field(pattern=CALL_ID.pattern)]
    to: Annotated[str, Field(min_length=3, max_length=64)]
    from_: Annotated[str | None, Field(alias="from", max_length=64)] = None
    flow: Annotated[str, Field(min_length=1, max_length=200)]
    metadata: JsonObject = Field(default_factory=dict)


def parse_job_metadata(raw: str) -> OutboundJob | InboundDispatch | None:
    """An outbound call's job; an inbound call's flow from a provisioned dispatch rule
    (``"direction": "inbound"``); None for an inbound call dispatched without metadata.
    Raises JobMetadataError when it is malformed."""
    if not raw.strip():
        return None
    try:
        data = json.loads(raw)
        if isinstance(data, dict) and data.get("direction") == "inbound":
            return InboundDispatch.model_validate(data)
        return OutboundJob.model_validate(data)
    except json.JSONDecodeError:
        raise JobMetadataError("job metadata is not JSON") from None
    except ValidationError as exc:
        reason = one_line_reason(exc, where=lambda loc: dotted(loc) or "metadata")
        raise JobMetadataError(f"job metadata {reason}") from None


@dataclass(frozen=True)
class SalvagedJob:
    """What can be read of an outbound job's metadata that did not validate: enough to
    tell whoever asked for the call (its ``call_id``) that it was not placed."""

    call_id: str
    flow: str | None
    to: str | None
    from_: str | None
    metadata: dict[str, Any]


def salvage_job_metadata(raw: str) -> SalvagedJob | None:
    """The call id and whichever other parts are well-formed; None without a valid call id."""
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    call_id = data.get("call_id")
    if not isinstance(call_id, str) or not CALL_ID.fullmatch(call_id):
        return None

    def text(key: str, limit: int) -> str | None:
        value = data.get(key)
        return value if isinstance(value, str) and 0 < len(value) <= limit else None

    metadata = data.get("metadata")
    return SalvagedJob(
        call_id=call_id,
        flow=text("flow", 200),
        to=text("to", 64),
        from_=text("from", 64),
        metadata=metadata if isinstance(metadata, dict) else {},
    )


def dialable(number: str, region: str) -> str | DialFailure:
    """E.164 for a number we may dial, or the failure that dialing it would be."""
    try:
        return to_e164(number, region)
    except AnswerError:
        return INVALID_NUMBER


class LiveKitDialer:
    """Dials through a LiveKit SIP outbound trunk with ``CreateSIPParticipant``; ``trunk``
    is its id or its name (``sip.trunks``)."""

    def __init__(self, lkapi: api.LiveKitAPI, *, trunk: str, ringing_timeout: float) -> None:
        self._api = lkapi
        self._trunk = trunk
        self._ringing_timeout = ringing_timeout

    async def dial(self, request: DialRequest) -> DialFailure | None:
        try:
            trunk_id = await outbound_trunk_id(self._api.sip, self._trunk)
        except LIVEKIT_REQUEST_ERRORS as exc:
            return dial_failure(exc)
        if trunk_id is None:
            return no_trunk_named(self._trunk)
        sip_request = api.CreateSIPParticipantRequest(
            sip_trunk_id=trunk_id,
            sip_call_to=request.to,
            sip_number=request.caller_id or "",
            room_name=request.room_name,
            participant_identity=request.participant_identity,
            participant_name="Callee",
            wait_until_answered=True,
        )
        sip_request.ringing_timeout.FromNanoseconds(int(self._ringing_timeout * 1e9))
        try:
            async with asyncio.timeout(self._ringing_timeout + REQUEST_MARGIN):
                await self._api.sip.create_sip_participant(sip_request)
        except LIVEKIT_REQUEST_ERRORS as exc:
            return dial_failure(exc)  # LiveKit's errors, its client's and the network's
        return None
