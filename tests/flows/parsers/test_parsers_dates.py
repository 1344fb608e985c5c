"""Dates as callers say, type or key them."""

from __future__ import annotations

from datetime import date

import pytest

from flows.engine.parsers import parse_date
from flows.errors import AnswerError

TODAY = date(2025, 6, 1)
MARCH_5_1980 = date(1980, 3, 5)


@pytest.mark.parametrize(
    "said",
    [
        "march fifth nineteen eighty",
        "March 5th, 1980",
        "march 5 1980",
        "the fifth of march 1980",
        "the 5th of March, 1980",
        "5 March 1980",
        "march the fifth, 1980",
        "03/05/1980",
        "3/5/1980",
        "3-5-80",
        "03.05.1980",
        "1980-03-05",
        "march fifth eighty",
        "mar 5 '80",
        "nineteen eighty march fifth",
        "oh three oh five nineteen eighty",
        "03051980",
        "um, it's march fifth, nineteen eighty.",
        "I was born on March fifth nineteen eighty",
    ],
)
def test_march_fifth_1980(said: str) -> None:
    assert parse_date(said, today=TODAY) == MARCH_5_1980


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("June 12 two thousand one", date(2001, 6, 12)),
        ("january first two thousand", date(2000, 1, 1)),
        ("december thirty first nineteen ninety nine", date(1999, 12, 31)),
        ("february twenty ninth two thousand", date(2000, 2, 29)),
        ("march fifth nineteen oh five", date(1905, 3, 5)),
        ("july fourth nineteen hundred", date(1900, 7, 4)),
        ("march twenty second twenty twenty two", date(2022, 3, 22)),
        ("sept 9 2010", date(2010, 9, 9)),
        ("I may have said may fifth nineteen eighty", date(1980, 5, 5)),
    ],
)
def test_parse_date(said: str, expected: date) -> None:
    assert parse_date(said, today=TODAY) == expected


@pytest.mark.parametrize(
    ("said", "message"),
    [
        ("february thirtieth nineteen eighty", "real calendar date"),
        ("13/05/1980", "real calendar date"),
        ("march fifth", "with a year"),
        ("march nineteen eighty", "with a day"),
        ("march twenty twenty", "with a day"),
        ("march fifth one nine eight", "four-digit year"),
        ("march 5 april 6 1980", "single date"),
        ("yesterday", "expected a date"),
        ("", "expected a date"),
    ],
)
def test_parse_date_rejects(said: str, message: str) -> None:
    with pytest.raises(AnswerError, match=message):
        parse_date(said, today=TODAY)


def test_keypad_is_exactly_mmddyyyy() -> None:
    assert parse_date("03051980", today=TODAY, keypad=True) == MARCH_5_1980
    for keyed in ("3051980", "0305198", "1980-03-05", "march fifth nineteen eighty"):
        with pytest.raises(AnswerError, match="MMDDYYYY"):
            parse_date(keyed, today=TODAY, keypad=True)


@pytest.mark.parametrize(
    ("said", "bounds", "expected"),
    [
        # Both centuries allowed: the latest not after `today`.
        ("march 5 30", {}, date(1930, 3, 5)),
        ("march 5 24", {}, date(2024, 3, 5)),
        # ...or not after `maximum` when one is given.
        ("march 5 24", {"maximum": date(2000, 1, 1)}, date(1924, 3, 5)),
        # Only one century in range.
        ("march 5 30", {"minimum": TODAY}, date(2030, 3, 5)),
        ("march 5 80", {"minimum": TODAY}, date(2080, 3, 5)),
        ("3/5/24", {"minimum": date(2000, 1, 1)}, date(2024, 3, 5)),
        ("feb 29 00", {}, date(2000, 2, 29)),
    ],
)
def test_two_digit_year_century(said: str, bounds: dict[str, date], expected: date) -> None:
    low, high = bounds.get("minimum"), bounds.get("maximum")
    assert parse_date(said, today=TODAY, minimum=low, maximum=high) == expected


def test_range_errors_name_the_bound_not_the_answer() -> None:
    with pytest.raises(AnswerError, match="on or before June 1, 2025") as caught:
        parse_date("march fifth twenty thirty", today=TODAY, maximum=TODAY)
    assert "2030" not in str(caught.value)
    with pytest.raises(AnswerError, match="on or after January 1, 2026"):
        parse_date("march 5 2025", today=TODAY, minimum=date(2026, 1, 1))
    with pytest.raises(AnswerError, match="between"):
        parse_date("3/5/80", today=TODAY, minimum=date(2000, 1, 1), maximum=date(2030, 1, 1))
