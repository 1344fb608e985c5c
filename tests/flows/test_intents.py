"""Phrase rules for what a caller wants besides answering."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flows.engine.intents import (
    correction_target,
    emergency_phrase,
    wants_no_more_calls,
    wants_person,
    wants_skip,
)

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


ASKS_NOT_TO_BE_CALLED = [
    "don't call me again",
    "Do not call me again.",
    "Don\u2019t call me again",
    "don't ever call me again",
    "never call this number again",
    "never ever call me again",
    "please don't contact me again",
    "don't call this number anymore",
    "don't call again",
    "please don't call me",
    "I don't want you to call me again",
    "I don't want to be called again",
    "Stop calling me!",
    "please stop calling",
    "can you stop calling me",
    "quit calling me",
    "stop calling this number",
    "stop calling me, I'm not interested",
    "jane doe, and stop calling me",
    "take me off your list",
    "Take me off your calling list please",
    "get me off your list",
    "remove me from your list",
    "remove my number",
    "Remove my number from your list",
    "delete my number",
    "lose my number",
    "put me on your do-not-call list",
    "I'm on the do not call registry",
    "I don't want any more calls",
    "no more calls please",
    "unsubscribe",
    "opt me out of these calls",
]

DOES_NOT_ASK = [
    "you can call me again tomorrow",
    "don't call me 'sir'",
    "call me back later",
    "stop, let me think",
    "call me again next week",
    "please call me again if anything changes",
    "why don't you call me again tomorrow",
    "if I don't answer, call me again later",
    "I don't mind if you call me again",
    "don't call me before noon",
    "please don't call me at work",
    "don't call me back, I'll call you",
    "don't call my husband, call me",
    "my name is Jane, don't call me Janet",
    "they stopped calling me back",
    "the technician kept calling me",
    "I called again yesterday",
    "take me off the waiting list",
    "change my number",
    "remove the last one",
    "my number is 415 555 0123",
    "I don't want to do the survey",
    "not now",
    "stop",
    "stop right there",
    "never mind",
    "no thanks",
    "yes",
    "no",
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [(text, True) for text in ASKS_NOT_TO_BE_CALLED] + [(text, False) for text in DOES_NOT_ASK],
)
def test_wants_no_more_calls(text: str, expected: bool) -> None:
    assert wants_no_more_calls(text) is expected


@given(st.text(max_size=200))
def test_wants_no_more_calls_never_raises(text: str) -> None:
    assert wants_no_more_calls(text) in (True, False)


@pytest.mark.parametrize("apostrophe", ["'", "\u2019", "\u02bc", "`"])
def test_every_apostrophe_is_the_same_apostrophe(apostrophe: str) -> None:
    assert wants_skip(f"I don{apostrophe}t know")
    assert wants_no_more_calls(f"please don{apostrophe}t call me again")
