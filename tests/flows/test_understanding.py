"""The understanding corpus: spoken utterances across every field type and intent, scored
to 100%; and no text makes any rule raise anything but the parsers' own AnswerError."""

from __future__ import annotations

import contextlib
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flows.engine.answers import AnswerContext, parse_value
from flows.engine.emergency import emergency_meaning
from flows.engine.intents import (
    correction_target,
    declines_now,
    wants_no_more_calls,
    wants_person,
    wants_skip,
)
from flows.engine.parsers.address import read_address
from flows.engine.parsers.regions import named_region
from flows.errors import AnswerError
from flows.spec.catalog import FlowCatalog
from flows.spec.fields import AddressField, ListField
from flows.testing.understanding import CORRECTION_NAMES, Case, load_corpus, score

CORPUS = Path(__file__).with_name("understanding_corpus.yaml")
FIELD_TYPES = {
    "text", "name", "yes_no", "choice", "integer", "digits", "alphanumeric", "date",
    "phone", "email", "list", "address",
}  # fmt: skip
INTENTS = {"person", "no_more_calls", "emergency", "skip", "decline", "correction"}


@pytest.fixture(scope="module")
def cases() -> list[Case]:
    return load_corpus(CORPUS)


def test_the_corpus_covers_every_type_and_intent(cases: list[Case]) -> None:
    assert len(cases) >= 400
    groups = Counter(case.group for case in cases)
    assert set(groups) == FIELD_TYPES | INTENTS
    assert all(count >= 5 for count in groups.values()), groups


def test_the_emergency_table_has_sixty_phrases_both_ways(cases: list[Case]) -> None:
    table = Counter(case.expected for case in cases if case.group == "emergency")
    assert table[True] >= 30 and table[False] >= 30 and table.total() >= 60


def test_every_utterance_is_understood(cases: list[Case]) -> None:
    failures = [
        f"[{o.case.group}] {o.case.text!r}: expected {o.case.expected!r}, got {o.actual!r}"
        for o in score(cases)
        if not o.passed
    ]
    assert not failures, "\n".join(failures)


def _every_field() -> list[object]:
    catalog = FlowCatalog()
    fields: list[object] = [AddressField(id="address", type="address")]
    for flow_id in catalog.sources():
        spec = catalog.load(flow_id)
        for path in spec.field_paths():
            field = spec.field(path)
            if isinstance(field, ListField) and field.item.type == "object":
                fields.extend(field.item.fields)
            else:
                fields.append(field)
    return fields


FIELDS = _every_field()
CONTEXTS = [AnswerContext("US", date(2026, 6, 1)), AnswerContext("GB", date(2026, 6, 1))]


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(FIELDS),
    st.sampled_from(CONTEXTS),
    st.text(max_size=120) | st.from_regex(r"[a-z0-9 ,.'-]{0,80}", fullmatch=True),
)
def test_no_text_raises_anything_but_answer_error(
    field: object, ctx: AnswerContext, text: str
) -> None:
    with contextlib.suppress(AnswerError):
        parse_value(field, text, ctx)  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_the_intent_rules_never_raise(text: str) -> None:
    wants_person(text)
    wants_skip(text)
    wants_no_more_calls(text)
    declines_now(text)
    emergency_meaning(text, ["chest pain", "can't breathe"])
    correction_target(text, CORRECTION_NAMES)
    named_region(text.lower().split())
    with contextlib.suppress(AnswerError):
        read_address(text, region="US")
