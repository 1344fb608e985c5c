"""What the API takes and answers (CONTRACT.md section 4), as pydantic models: parsed at the
boundary, and the source of the OpenAPI schema."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
)

from flows.engine.json_types import JsonObject
from flows.engine.outcomes import CallStatus
from service.scheduler.rules import DAYS, DEFAULT_WINDOW, RetryPolicy, Window
from service.store.campaigns import CampaignRecord
from service.store.requests import CallRecord
from service.store.schema import CampaignStatus, RequestStatus


def _no_control_characters(value: str) -> str:
    # PostgreSQL cannot store NUL in text, and no name needs a control character.
    if any(ord(character) < 32 or ord(character) == 127 for character in value):
        raise ValueError("control characters are not allowed")
    return value


Text = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_no_control_characters)]


def _storable(value: Any) -> Any:
    """JSON that reads back as it was written: NaN and infinities, which the JSON parser
    takes, would come back as null."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("numbers must be finite (no NaN or Infinity)")
    if isinstance(value, dict):
        for item in value.values():
            _storable(item)
    elif isinstance(value, list):
        for item in value:
            _storable(item)
    return value


Metadata = Annotated[JsonObject, AfterValidator(_storable)]
Simulate = Annotated[
    JsonObject | None,
    Field(description="`intake serve --simulate` only: the scripted callee (a scenario)"),
]
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"  # the same, as a pattern for query parameters


def _window_schema(*, required: bool) -> dict[str, Any]:
    """The window as it is written (times as HH:MM), which its model cannot say itself."""
    defaults = DEFAULT_WINDOW.model_dump(mode="json")
    hh_mm = {"type": "string", "pattern": "^[0-2][0-9]:[0-5][0-9]$"}
    schema: dict[str, Any] = {
        "type": "object",
        "additionalProperties": False,
        "description": "Local hours (HH:MM, start included, end not, within 08:00-21:00) and"
        " days when a callee may be called",
        "properties": {
            "start": hh_mm | {"default": defaults["start"]},
            "end": hh_mm | {"default": defaults["end"]},
            "days": {
                "type": "array",
                "items": {"type": "string", "enum": list(DAYS)},
                "minItems": 1,
                "maxItems": 7,
                "uniqueItems": True,
                "default": defaults["days"],
            },
        },
    }
    if required:
        schema["required"] = ["start", "end", "days"]
    return schema


def _times_as_text(value: Any) -> Any:
    """Window would read a number as seconds since midnight UTC (a time with a zone, which
    its bounds check cannot compare): only HH:MM text is a time of day here."""
    if isinstance(value, dict):
        for name in ("start", "end"):
            if name in value and not isinstance(value[name], str):
                raise ValueError(f"{name}: expected a time of day as HH:MM, such as 09:00")
    return value


WindowIn = Annotated[
    Window, BeforeValidator(_times_as_text), WithJsonSchema(_window_schema(required=False))
]
WindowOut = Annotated[Window, WithJsonSchema(_window_schema(required=True))]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class CallCreate(_Request):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "to": "+14155550123",
                    "flow": "customer_feedback",
                    "metadata": {"ticket": "T-1"},
                }
            ]
        }
    )

    to: Annotated[str, Field(description="E.164, or national form in the default region")]
    flow: Text
    from_: Annotated[str | None, Field(alias="from", description="the calling number")] = None
    metadata: Metadata = Field(default_factory=dict, description="copied to the payload")
    not_before: AwareDatetime | None = None
    timezone: Annotated[
        str | None, Field(max_length=64, description="IANA name, instead of the number's")
    ] = None
    simulate: Simulate = None


class AttemptOut(BaseModel):
    at: datetime
    outcome: CallStatus = Field(description="the payload status the dial ended with")
    sip_status: int | None
    retryable: bool | None


class CallOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    id: str
    flow: str
    to: str
    from_: str | None = Field(alias="from")
    status: RequestStatus
    reason: str | None = Field(description="why it is blocked or cancelled")
    campaign_id: str | None
    metadata: JsonObject
    not_before: datetime | None
    attempts: list[AttemptOut]
    next_attempt_at: datetime | None
    payload: JsonObject | None = Field(description="the result payload, once ended")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, record: CallRecord) -> CallOut:
        return cls.model_validate(record, from_attributes=True)


class CallPage(BaseModel):
    items: list[CallOut]
    next_cursor: str | None


class ContactIn(_Request):
    to: str
    timezone: str | None = None
    metadata: Metadata | None = None
    simulate: Simulate = None


class CampaignOptions(_Request):
    """A campaign without its contacts: what an upload's other form fields hold."""

    name: Text
    flow: Text
    window: WindowIn = DEFAULT_WINDOW
    concurrency: Annotated[int, Field(ge=1, le=1000)] = 10
    calls_per_second: Annotated[float, Field(gt=0, le=100)] = 1.0
    retry: RetryPolicy = RetryPolicy()


class CampaignCreate(CampaignOptions):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "spring follow-up",
                    "flow": "customer_feedback",
                    "contacts": [
                        {"to": "+14155550123", "metadata": {"ticket": "T-1"}},
                        {"to": "(212) 555-0188", "timezone": "America/New_York"},
                    ],
                    "window": {"start": "09:00", "end": "20:00", "days": ["mon", "tue"]},
                }
            ]
        }
    )

    contacts: Annotated[list[ContactIn], Field(min_length=1)]


class CampaignUpload(BaseModel):
    """``multipart/form-data``: the contacts as a CSV file, the other fields as text."""

    name: Text
    flow: Text
    contacts: Annotated[
        bytes,
        Field(
            description="CSV, UTF-8: a header with `to`, optionally `timezone` (empty: none);"
            " other columns become each call's metadata"
        ),
    ]
    window: Annotated[str | None, Field(description="JSON, as in the JSON request")] = None
    retry: Annotated[str | None, Field(description="JSON, as in the JSON request")] = None
    concurrency: int | None = None
    calls_per_second: float | None = None


class Counts(BaseModel):
    queued: int
    dialing: int
    in_progress: int
    completed: int
    incomplete: int
    transferred: int
    declined: int
    voicemail: int
    no_answer: int
    busy: int
    failed: int
    blocked: int
    cancelled: int


class CampaignOut(BaseModel):
    id: str
    name: str
    flow: str
    status: CampaignStatus
    counts: Counts
    window: WindowOut
    retry: RetryPolicy
    concurrency: int
    calls_per_second: float
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, record: CampaignRecord) -> CampaignOut:
        return cls.model_validate(record, from_attributes=True)


class StepSummary(BaseModel):
    id: str
    fields: list[str]


class FlowSummary(BaseModel):
    id: str
    name: str
    version: str
    steps: list[StepSummary]


class FlowList(BaseModel):
    items: list[FlowSummary]


class DncEntry(BaseModel):
    number: str
    added_at: datetime
    source: str = Field(description='"api", or the call in which the callee asked')


class Health(BaseModel):
    status: Literal["ok", "ready"]
