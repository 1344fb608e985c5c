"""Scoring the understanding rules against a corpus of spoken utterances.

A corpus (YAML) has ``fields``: groups of utterances answering one field of a built-in
flow (``flow`` and ``path``) or an inline field spec, each with the value it must give
(``!error`` when the answer must be refused); and ``intents``: utterances with the
decision each intent rule must make. ``tests/flows/test_understanding.py`` holds the
score to 100%; ``bench/understanding.py`` prints it per type and per intent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from pydantic import TypeAdapter

from flows.engine.answers import AnswerContext, parse_value
from flows.engine.intents import (
    correction_target,
    declines_now,
    emergency_phrase,
    wants_no_more_calls,
    wants_person,
    wants_skip,
)
from flows.errors import AnswerError
from flows.spec.catalog import FlowCatalog
from flows.spec.fields import FieldSpec

REFUSED = "!error"
TODAY = date(2026, 6, 1)
_FIELD = TypeAdapter[FieldSpec](FieldSpec)
# The words that name earlier answers in the correction cases (as the offline engine
# builds them: label, aliases, words for the field's type).
CORRECTION_NAMES = {
    "contact.email": ["email", "e-mail", "email address", "mail", "personal email"],
    "contact.phone": ["phone", "phone number", "number", "cell", "cell phone", "mobile"],
    "patient.date_of_birth": ["date of birth", "birthday", "dob", "birth date"],
    "patient.full_name": ["name", "my name", "full name"],
    "insurance.member_id": ["member id", "member number", "insurance id"],
}
_EMERGENCY_PHRASES = ["chest pain", "can't breathe", "suicidal", "overdose", "seizure"]
_INTENTS: dict[str, Callable[[str], object]] = {
    "person": wants_person,
    "no_more_calls": wants_no_more_calls,
    "emergency": lambda text: emergency_phrase(text, _EMERGENCY_PHRASES) is not None,
    "skip": wants_skip,
    "decline": declines_now,
    "correction": lambda text: correction_target(text, CORRECTION_NAMES),
}


@dataclass(frozen=True)
class Case:
    group: str  # a field type ("choice") or an intent ("person")
    kind: str  # "field" or "intent"
    text: str
    expected: Any
    field: FieldSpec | None = None


@dataclass(frozen=True)
class Outcome:
    case: Case
    actual: Any

    @property
    def passed(self) -> bool:
        return bool(self.actual == self.case.expected)


def load_corpus(path: Path, catalog: FlowCatalog | None = None) -> list[Case]:
    catalog = catalog or FlowCatalog()
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [*_field_cases(document.get("fields", []), catalog), *_intent_cases(document)]


def _field_cases(groups: list[dict[str, Any]], catalog: FlowCatalog) -> Iterator[Case]:
    for group in groups:
        if "flow" in group:
            field = catalog.load(group["flow"]).field(group["path"])
        else:
            field = _FIELD.validate_python(group["spec"])
        for text, expected in group["cases"]:
            yield Case(field.type, "field", text, expected, field)


def _intent_cases(document: dict[str, Any]) -> Iterator[Case]:
    for intent, cases in document.get("intents", {}).items():
        if intent not in _INTENTS:
            raise ValueError(f"unknown intent {intent!r} in the corpus")
        for text, expected in cases:
            yield Case(intent, "intent", text, expected)


def judge(case: Case, region: str = "US") -> Outcome:
    """What the rules make of one utterance."""
    if case.kind == "intent":
        return Outcome(case, _INTENTS[case.group](case.text))
    assert case.field is not None
    try:
        actual = parse_value(case.field, case.text, AnswerContext(region=region, today=TODAY))
    except AnswerError:
        actual = REFUSED
    return Outcome(case, actual)


def score(cases: list[Case]) -> list[Outcome]:
    return [judge(case) for case in cases]
