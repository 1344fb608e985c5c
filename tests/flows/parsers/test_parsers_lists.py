"""Listing answers and "none" answers."""

from __future__ import annotations

import pytest

from flows.engine.parsers import ChoiceOption, is_none_answer, parse_choice, parse_list, parse_text
from flows.errors import AnswerError


@pytest.mark.parametrize(
    "said",
    [
        "none",
        "None.",
        "no",
        "nope",
        "nah, none",
        "nothing",
        "no allergies",
        "none that I know of",
        "not that I know of",
        "not that I'm aware of",
        "I don't have any",
        "I don't have any allergies",
        "no known allergies",
        "no known drug allergies",
        "I'm not allergic to anything",
        "I'm not taking any medications",
        "n/a",
        "N/A",
        "zero",
        "um, none at all",
    ],
)
def test_is_none_answer(said: str) -> None:
    assert is_none_answer(said)


@pytest.mark.parametrize(
    "said",
    ["", "penicillin", "I don't know", "not sure", "no, penicillin", "none but penicillin", "yes"],
)
def test_is_not_none_answer(said: str) -> None:
    assert not is_none_answer(said)


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("penicillin and peanuts", ["penicillin", "peanuts"]),
        ("penicillin, peanuts, and shellfish", ["penicillin", "peanuts", "shellfish"]),
        ("penicillin; peanuts & shellfish", ["penicillin", "peanuts", "shellfish"]),
        ("penicillin as well as latex", ["penicillin", "latex"]),
        ("penicillin plus latex", ["penicillin", "latex"]),
        ("just penicillin", ["penicillin"]),
        ("only latex.", ["latex"]),
        ("I'm allergic to penicillin and peanuts", ["penicillin", "peanuts"]),
        ("I am allergic to penicillin", ["penicillin"]),
        ("I take aspirin and I'm on lisinopril", ["aspirin", "lisinopril"]),
        ("um, penicillin and, uh, latex", ["penicillin", "latex"]),
        ("Penicillin. Latex. That's it.", ["Penicillin", "Latex"]),
        ("penicillin, penicillin and latex", ["penicillin", "latex"]),
        ("none", []),
        ("no known allergies", []),
    ],
)
def test_parse_list(said: str, expected: list[str]) -> None:
    assert parse_list(said, item=parse_text) == expected


def test_parse_list_dedupes_on_parsed_values() -> None:
    assert parse_list("Latex and latex", item=str.lower) == ["latex"]


def test_parse_list_items_use_the_item_parser() -> None:
    options = [ChoiceOption("hvac", "heating", ("furnace",)), ChoiceOption("plumbing", "plumbing")]

    def choice(text: str) -> str:
        return parse_choice(text, options)

    assert parse_list("the furnace and plumbing", item=choice) == ["hvac", "plumbing"]
    with pytest.raises(AnswerError):
        parse_list("the furnace and the roof", item=choice)


@pytest.mark.parametrize("said", ["", " , and ", "that's it"])
def test_parse_list_rejects_empty(said: str) -> None:
    with pytest.raises(AnswerError):
        parse_list(said, item=parse_text)
