"""What a SIP dispatch rule tells the worker about an inbound call: the flow it runs.

``intake provision`` writes this JSON into each dispatch rule's agent dispatch
(``roomConfig.agents[].metadata``); LiveKit hands it to the job as ``job.metadata``, and the
worker reads it back with ``sip.dialing.parse_job_metadata``. Both ends use this one model,
so the flow a number runs is written in one place (the telephony file) and read from the
dispatch LiveKit made, never from a second list kept in step by hand.
"""

from __future__ import annotations

import json
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


class InboundDispatch(BaseModel):
    """Job metadata of an inbound call dispatched by a provisioned rule."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    direction: Literal["inbound"] = "inbound"
    flow: Annotated[str, Field(min_length=1, max_length=200)]

    def to_metadata(self) -> str:
        return json.dumps(self.model_dump(), separators=(",", ":"))
