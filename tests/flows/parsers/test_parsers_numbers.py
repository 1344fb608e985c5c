"""Whole numbers, amounts and digit strings as callers say them."""

from __future__ import annotations

import pytest

from flows.engine.parsers import parse_digits, parse_integer, parse_number
from flows.errors import AnswerError


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("five", 5),
        ("5", 5),
        ("a nine", 9),
        ("I'd give it a four", 4),
        ("four out of five", 4),
        ("ten out of ten", 10),
        ("8/10", 8),
        ("probably an eight", 8),
        ("zero", 0),
        ("twenty three", 23),
        ("twenty-three", 23),
        ("Seven.", 7),
        ("um, six", 6),
        ("seven, seven", 7),
        ("a hundred", 100),
        ("one hundred and five", 105),
        ("two thousand and one", 2001),
        ("nineteen hundred", 1900),
        ("nine hundred ninety nine thousand nine hundred ninety nine", 999_999),
        ("one million", 1_000_000),
        ("minus three", -3),
        ("5.0", 5),
    ],
)
def test_parse_integer(said: str, expected: int) -> None:
    assert parse_integer(said) == expected


@pytest.mark.parametrize(
    "said",
    ["", "none", "maybe seven or eight", "seven, I mean eight", "four and a half", "2.5", "first"],
)
def test_parse_integer_rejects(said: str) -> None:
    with pytest.raises(AnswerError):
        parse_integer(said)


def test_parse_integer_range_is_named_in_the_error() -> None:
    assert parse_integer("five", minimum=1, maximum=5) == 5
    with pytest.raises(AnswerError, match="expected a whole number between 1 and 5"):
        parse_integer("six", minimum=1, maximum=5)
    with pytest.raises(AnswerError, match="at least 1"):
        parse_integer("zero", minimum=1)
    with pytest.raises(AnswerError, match="at most 10"):
        parse_integer("eleven", maximum=10)


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("twenty thousand", 20_000),
        ("20k", 20_000),
        ("50 k", 50_000),
        ("$75,000", 75_000),
        ("about a hundred grand", 100_000),
        ("one point five million", 1_500_000),
        ("1.5 million", 1_500_000),
        ("1.5m", 1_500_000),
        ("half a million", 500_000),
        ("a half million", 500_000),
        ("two and a half million", 2_500_000),
        ("a million dollars", 1_000_000),
        ("under 10 thousand", 10_000),
        ("fifty thousand, fifty thousand", 50_000),
        ("twelve fifty", None),
        ("3.75", 3.75),
        ("a thousand", 1_000),
    ],
)
def test_parse_number(said: str, expected: float | None) -> None:
    if expected is None:
        with pytest.raises(AnswerError):
            parse_number(said)
    else:
        assert parse_number(said) == expected


@pytest.mark.parametrize(
    "said", ["", "lots", "between 10 and 20 thousand", "415.555.0199", "9" * 400, "1,2"]
)
def test_parse_number_rejects(said: str) -> None:
    with pytest.raises(AnswerError):
        parse_number(said)


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("three three four", "334"),
        ("3 3 4", "334"),
        ("334", "334"),
        ("it's three thirty four", "334"),
        ("double four two", "442"),
        ("triple seven", "777"),
        ("oh five", "05"),
        ("zero one nine nine", "0199"),
        ("number 334", "334"),
        ("order number is 5 5 1 2", "5512"),
        ("oh, three three four", "334"),
        ("double oh seven", "007"),
        ("give me a second, it's 3 3 4", "334"),
        ("five hundred", "500"),
        ("nineteen eighty", "1980"),
        ("4-4-2", "442"),
    ],
)
def test_parse_digits(said: str, expected: str) -> None:
    assert parse_digits(said) == expected


def test_parse_digits_length_bounds() -> None:
    assert parse_digits("1 2 3 4", min_length=4, max_length=4) == "1234"
    with pytest.raises(AnswerError, match="exactly 4 digits"):
        parse_digits("1 2 3", min_length=4, max_length=4)
    with pytest.raises(AnswerError, match="between 4 and 6 digits"):
        parse_digits("1 2 3 4 5 6 7", min_length=4, max_length=6)
    with pytest.raises(AnswerError, match="at least 5 digits"):
        parse_digits("1 2", min_length=5)


@pytest.mark.parametrize("said", ["", "no idea", "oh", "first"])
def test_parse_digits_rejects(said: str) -> None:
    with pytest.raises(AnswerError):
        parse_digits(said)
