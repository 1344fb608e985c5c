"""The result payload of CONTRACT.md section 1, and how a call's state becomes one."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from flows.engine.answers import Value
from flows.engine.json_types import JsonObject
from flows.engine.outcomes import CallStatus, Direction, EndedReason, TransferOutcome
from flows.engine.record import FieldState, Source, when_holds
from flows.spec.flow import FlowSpec, TransferReason
from flows.spec.paths import FieldPath


class FieldReport(BaseModel):
    status: Literal["collected", "skipped", "missing"]
    source: Source | None
    attempts: int
    confirmed: bool


class TransferReport(BaseModel):
    to: str
    reason: TransferReason
    outcome: TransferOutcome


class Payload(BaseModel):
    """Exactly one per call: the webhook body, the API's ``result``, what simulate prints."""

    model_config = ConfigDict(populate_by_name=True, frozen=True)

    job_id: str
    room_id: str
    room: str
    started_at: str
    ended_at: str
    summary: str | None
    results: dict[str, dict[str, Value]]
    type: Literal["call.ended"] = "call.ended"
    call_id: str
    flow: str
    flow_version: str
    direction: Direction
    from_: str | None = Field(alias="from")
    to: str | None
    status: CallStatus
    ended_reason: EndedReason
    fields: dict[str, FieldReport]
    transfer: TransferReport | None
    metadata: JsonObject

    def to_json_dict(self) -> JsonObject:
        return self.model_dump(mode="json", by_alias=True)


def timestamp(moment: datetime) -> str:
    """ISO 8601 in UTC with a Z, as in the contract's example."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def final_fields(
    spec: FlowSpec, states: dict[str, FieldState]
) -> tuple[dict[str, dict[str, Value]], dict[str, FieldReport]]:
    """``results`` and ``fields`` of the payload; every step and field, whatever happened.

    A field still pending when the call ended is ``missing`` if required, ``skipped`` if
    optional or if its ``when`` condition does not hold. A field not collected is null, a
    list never asked included; a list the caller answered with "none" is ``[]``.
    """
    results: dict[str, dict[str, Value]] = {}
    reports: dict[str, FieldReport] = {}
    for step in spec.steps:
        values: dict[str, Value] = {}
        for field in step.fields:
            path = str(FieldPath(step.id, field.id))
            state = states[path]
            status, value = state.status, state.value
            if not when_holds(spec, step, field, states):
                status, value = "skipped", None
            if status == "pending" and state.items:
                status, value = "collected", list(state.items)
            elif status == "pending":
                status, value = ("skipped" if field.optional else "missing"), None
            values[field.id] = value
            collected = status == "collected"
            reports[path] = FieldReport(
                status=status,
                source=state.source if collected else None,
                attempts=state.attempts,
                confirmed=state.confirmed and collected,
            )
        results[step.id] = values
    return results, reports


def template_summary(
    spec: FlowSpec, direction: Direction, status: CallStatus, reports: dict[str, FieldReport]
) -> str:
    """A deterministic summary that names fields but never says a value (values are caller data)."""
    collected = [p for p, r in reports.items() if r.status == "collected"]
    missing = [p for p, r in reports.items() if r.status == "missing"]
    text = (
        f"{direction.capitalize()} {spec.name.lower()} call ended with status {status}; "
        f"{len(collected)} of {len(reports)} fields collected."
    )
    if missing:
        text += " Missing: " + ", ".join(missing) + "."
    return text
