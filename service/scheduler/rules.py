"""What a campaign (or a single call) is allowed: its calling window and its retries.

These are the request's own models (``window``, ``retry`` of ``POST /v1/campaigns``), so the
API validates them at the boundary and the scheduler reads the same types back from the store.
"""

from __future__ import annotations

from datetime import time
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_serializer,
    field_validator,
    model_validator,
)

from flows.engine.outcomes import CallStatus

Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# No call is ever placed outside these local hours, whatever a campaign asks for.
EARLIEST, LATEST = time(8, 0), time(21, 0)


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Window(_Rule):
    """Hours of the callee's local day when they may be called: ``start`` included, ``end``
    not. The default is 09:00-20:00, Monday to Saturday."""

    start: time = time(9, 0)
    end: time = time(20, 0)
    days: Annotated[list[Day], Field(min_length=1, max_length=7)] = list(DAYS[:6])

    @field_validator("start", "end", mode="before")
    @classmethod
    def _hh_mm(cls, value: object) -> object:
        # a number would be read as seconds since midnight, with a time zone: refused
        if isinstance(value, time):
            return value
        if not isinstance(value, str) or len(value) != 5 or value[2] != ":":
            raise ValueError("expected a time of day as HH:MM, such as 09:00")
        return value

    @field_serializer("start", "end")
    def _as_hh_mm(self, value: time) -> str:
        return value.strftime("%H:%M")

    @field_validator("days")
    @classmethod
    def _once_each(cls, value: list[Day]) -> list[Day]:
        if len(set(value)) != len(value):
            raise ValueError("each day may appear only once")
        return sorted(value, key=DAYS.index)

    @model_validator(mode="after")
    def _within_bounds(self) -> Window:
        if self.start < EARLIEST or self.end > LATEST:
            raise ValueError("calls may only be placed between 08:00 and 21:00 local time")
        if self.start >= self.end:
            raise ValueError("the window's start must come before its end")
        return self


class Retry(_Rule):
    attempts: Annotated[int, Field(ge=1, le=10)]  # dials in all, the first included
    after: Annotated[float, Field(ge=60, le=7 * 86400)]  # seconds from one dial's end


RetriedOutcome = Literal["busy", "no_answer", "voicemail", "failed"]


class RetryPolicy(_Rule):
    """Dials per outcome. ``failed`` is retried only when the failure is retryable;
    ``completed``, ``incomplete``, ``declined`` and ``transferred`` never are."""

    busy: Retry = Retry(attempts=3, after=600)
    no_answer: Retry = Retry(attempts=3, after=7200)
    voicemail: Retry = Retry(attempts=2, after=86400)
    failed: Retry = Retry(attempts=2, after=900)

    def rule(self, outcome: CallStatus) -> Retry | None:
        """The rule for a dial that ended with ``outcome`` (a payload status), if any."""
        if outcome in ("busy", "no_answer", "voicemail", "failed"):
            rule: Retry = getattr(self, outcome)
            return rule
        return None


DEFAULT_WINDOW = Window()
DEFAULT_RETRY = RetryPolicy()
