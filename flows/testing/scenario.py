"""Scenarios (CONTRACT.md section 3): a simulated caller's behaviour, and what to expect.

Parsed at the boundary into a ``Scenario``; checked against the flow so a misspelt
answer path is an error rather than a silent caller. ``SimulatedCaller`` answers each
question from the path's queue: next entry each time, the last one repeating, silence
when a path has none.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from flows.engine import parsers
from flows.engine.json_types import JsonObject
from flows.engine.outcomes import DialOutcome, Direction, TransferOutcome
from flows.engine.record import WELCOME
from flows.errors import AnswerError, ScenarioError, os_reason
from flows.spec.catalog import FlowCatalog
from flows.spec.documents import (
    MAX_DOCUMENT_BYTES,
    DocumentError,
    read_document,
    read_text,
    validate,
)
from flows.spec.fields import ListField
from flows.spec.flow import FlowSpec
from flows.spec.paths import FieldPath


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Keyed(_Model):
    dtmf: Annotated[str, Field(pattern=r"^[0-9*#A-D]+$")]


class Silent(_Model):
    silence: Literal[True]


def _as_words(value: object) -> object:
    """YAML turns `no` into False and 1980-03-05 into a date; a caller said words."""
    if value is None:
        return {"silence": True}
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float | date):
        return str(value)
    return value


Answer = Annotated[str | Keyed | Silent, BeforeValidator(_as_words)]


def _as_queue(value: object) -> object:
    return value if isinstance(value, list) else [value]


AnswerQueue = Annotated[list[Answer], BeforeValidator(_as_queue), Field(min_length=1)]


class TransferBehaviour(_Model):
    to: str | None = None
    outcome: TransferOutcome = "connected"


class Scenario(_Model):
    flow: str | None = None
    direction: Direction = "inbound"
    from_: str | None = Field(default=None, alias="from")
    to: str | None = None
    metadata: JsonObject = Field(default_factory=dict)
    outcome: DialOutcome = "answered"
    transfer: TransferBehaviour | None = None
    answers: dict[str, AnswerQueue] = Field(default_factory=dict)
    confirm: dict[str, AnswerQueue] = Field(default_factory=dict)
    interrupt: dict[str, Annotated[str, BeforeValidator(_as_words)]] = Field(default_factory=dict)
    hangup_after: str | None = None
    expect: JsonObject | None = None

    @field_validator("from_", "to", mode="before")
    @classmethod
    def _number_text(cls, value: object) -> object:
        return str(value) if isinstance(value, int) else value


def load_scenario(path: Path, *, max_bytes: int = MAX_DOCUMENT_BYTES) -> Scenario:
    try:
        text = read_text(path, max_bytes=max_bytes)
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read the scenario ({os_reason(exc)})") from None
    except DocumentError as exc:
        raise ScenarioError(str(exc)) from None
    return parse_scenario(text, str(path))


def parse_scenario(text: str, source: str) -> Scenario:
    try:
        return validate(Scenario, read_document(text, source))
    except DocumentError as exc:
        raise ScenarioError(str(exc)) from None


def check_against(scenario: Scenario, spec: FlowSpec, source: str, region: str) -> Scenario:
    """Every path must name a question of the flow; numbers become E.164."""
    questions = set(question_paths(spec))
    fields = set(spec.field_paths())
    problems = [
        f"answers.{p}: the flow {spec.id} asks no such question"
        for p in scenario.answers
        if p not in questions
    ]
    problems += [f"confirm.{p}: no such field" for p in scenario.confirm if p not in fields]
    problems += [
        f"interrupt.{p}: no such field" for p in scenario.interrupt if p not in fields | {"welcome"}
    ]
    if scenario.hangup_after and scenario.hangup_after not in fields | {"welcome"}:
        problems.append(f"hangup_after: no field {scenario.hangup_after!r} in flow {spec.id}")
    if problems:
        extra = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ScenarioError(f"{source}: {problems[0]}{extra}")
    numbers = {"from_": scenario.from_, "to": scenario.to}
    updates: dict[str, Any] = {k: _e164(v, k, source, region) for k, v in numbers.items() if v}
    if scenario.transfer and scenario.transfer.to:
        to = _e164(scenario.transfer.to, "transfer.to", source, region)
        updates["transfer"] = scenario.transfer.model_copy(update={"to": to})
    return scenario.model_copy(update=updates)


def _e164(number: str, where: str, source: str, region: str) -> str:
    if number.startswith("sip:"):
        return number
    try:
        return parsers.parse_phone(number, region=region)
    except AnswerError:
        raise ScenarioError(
            f"{source}: {where.rstrip('_')}: not a valid phone number for region {region}"
        ) from None


def question_paths(spec: FlowSpec) -> Iterator[str]:
    yield WELCOME
    for step in spec.steps:
        for field in step.fields:
            path = FieldPath(step.id, field.id)
            yield str(path)
            if isinstance(field, ListField) and field.item.type == "object":
                yield str(path.item_list())
                for sub in field.item.fields:
                    yield str(path.item_field(sub.id))


def resolve_flow(
    catalog: FlowCatalog, scenario: Scenario, scenario_path: Path, flow: str | None
) -> FlowSpec:
    """The command line's flow wins, then the scenario's ``flow:``, then its folder's name."""
    ref = flow or scenario.flow
    if ref is None and scenario_path.parent.name in catalog.sources():
        ref = scenario_path.parent.name
    if ref is None:
        raise ScenarioError(f"{scenario_path}: no flow: give one on the command line or as flow:")
    return catalog.load(ref)
