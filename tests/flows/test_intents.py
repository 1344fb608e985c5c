"""Phrase rules for what a caller wants besides answering."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flows.intents import correction_target, emergency_phrase, wants_person, wants_skip

PHRASES = ["chest pain", "can't breathe", "suicidal", "kill myself"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("can I talk to a real person", True),
        ("I want to speak with someone", True),
        ("put me through to the front desk staff", True),
        ("operator", True),
        ("representative please", True),
        ("transfer me", True),
        ("I'm a real estate agent", False),
        ("head of operations", False),
        ("personal trainer", False),
        ("yes", False),
    ],
)
def test_wants_person(text: str, expected: bool) -> None:
    assert wants_person(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I've had chest pain since this morning", "chest pain"),
        ("I CAN\u2019T BREATHE", "can't breathe"),
        ("I feel suicidal", "suicidal"),
        ("no chest pain, just a checkup", None),
        ("I'm not suicidal", None),
        ("a follow up for my blood pressure", None),
    ],
)
def test_emergency_phrase(text: str, expected: str | None) -> None:
    assert emergency_phrase(text, PHRASES) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("skip", True),
        ("I don't know", True),
        ("I'd rather not say", True),
        ("no thanks", True),
        ("I'm not sure, I've been feeling dizzy and tired for about a week", False),
        ("penicillin", False),
        ("no", True),
        ("nope, thank you", True),
    ],
)
def test_wants_skip(text: str, expected: bool) -> None:
    assert wants_skip(text) is expected


NAMES = {
    "contact.email": ["email", "e-mail", "email address"],
    "contact.phone": ["phone", "phone number", "number"],
    "patient.date_of_birth": ["date of birth", "birthday"],
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("actually I need to change my email", "contact.email"),
        ("I gave you the wrong e-mail address", "contact.email"),
        ("my birthday was wrong", "patient.date_of_birth"),
        ("can I fix my phone number", "contact.phone"),
        ("my email is jane at example dot com", None),  # an answer, not a correction
        ("I made a mistake", None),  # which answer? not said
    ],
)
def test_correction_target(text: str, expected: str | None) -> None:
    assert correction_target(text, NAMES) == expected


@given(st.text())
def test_intents_never_raise(text: str) -> None:
    wants_person(text)
    wants_skip(text)
    emergency_phrase(text, PHRASES)
    correction_target(text, NAMES)
