"""Choosing one option by words, numeric range or close spelling."""

from __future__ import annotations

import pytest

from flows.engine.parsers import ChoiceOption, parse_choice
from flows.errors import AnswerError

SERVICES = (
    ChoiceOption("plumbing", "plumbing", ("leak", "pipes")),
    ChoiceOption("hvac", "heating and cooling", ("heat pump", "air conditioning", "furnace")),
    ChoiceOption("appliance_repair", "appliance repair", ("washer", "dryer")),
    ChoiceOption("electrical", "electrical", ("wiring",)),
    ChoiceOption("air_quality", "air quality", ("air",)),
)
INCOMES = (
    ChoiceOption("under_10k", "under 10 thousand dollars", maximum=10_000),
    ChoiceOption("10k_to_50k", "10 to 50 thousand", minimum=10_000, maximum=50_000),
    ChoiceOption("over_50k", "over 50 thousand", minimum=50_000),
)


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("plumbing", "plumbing"),
        ("Plumbing.", "plumbing"),
        ("it was a plumbing issue", "plumbing"),
        ("there's a leak", "plumbing"),
        ("the heat pump", "hvac"),
        ("HVAC", "hvac"),
        ("heating and cooling", "hvac"),
        ("appliance repair", "appliance_repair"),
        ("appliance-repair", "appliance_repair"),
        ("the furnace and the heat pump", "hvac"),
        # "air" (air quality) lies inside "air conditioning" (hvac): the longer mention wins.
        ("the air conditioning", "hvac"),
        ("the air smells", "air_quality"),
        ("plumming", "plumbing"),
        ("electrickal", "electrical"),
    ],
)
def test_parse_choice_by_words(said: str, expected: str) -> None:
    assert parse_choice(said, SERVICES) == expected


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("about twenty thousand", "10k_to_50k"),
        ("10k to 50k", "10k_to_50k"),
        ("5 grand", "under_10k"),
        ("ten thousand", "10k_to_50k"),
        ("fifty thousand", "over_50k"),
        ("a million", "over_50k"),
        ("under 10 thousand", "under_10k"),
        ("under ten thousand", "under_10k"),
        ("less than fifty thousand", "10k_to_50k"),
        ("up to 10k", "under_10k"),
        ("over fifty thousand", "over_50k"),
    ],
)
def test_parse_choice_by_range(said: str, expected: str) -> None:
    assert parse_choice(said, INCOMES) == expected


@pytest.mark.parametrize(
    ("said", "message"),
    [
        ("plumbing and wiring", "just one of"),
        ("the washer and the furnace", "just one of"),
        ("something else", "expected one of: plumbing, heating and cooling"),
        ("", "expected one of"),
        ("cat", "expected one of"),
    ],
)
def test_parse_choice_rejects(said: str, message: str) -> None:
    with pytest.raises(AnswerError, match=message):
        parse_choice(said, SERVICES)


def test_parse_choice_rejects_numbers_outside_every_range() -> None:
    bounded = (
        ChoiceOption("low", "low", maximum=10),
        ChoiceOption("mid", "mid", minimum=10, maximum=20),
    )
    with pytest.raises(AnswerError, match="expected one of: low, mid"):
        parse_choice("twenty five", bounded)
