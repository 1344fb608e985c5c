"""Calendar dates: spoken, written in US order, ISO, spoken or keyed as MMDDYYYY.

A two-digit year ("march fifth eighty") gets the century that puts the date inside the allowed
range; when both centuries fit, the later one that is not after ``maximum`` (or ``today``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date

from flows.engine.parsers.normalize import (
    FILLERS,
    clean,
    digits_of,
    is_numeral,
    skip_noise,
    spoken_tokens,
)
from flows.engine.parsers.number_words import NumberRun, number_runs, read_number, with_numerals
from flows.errors import AnswerError

MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_ABBREVIATIONS = {"sept": 9} | {name[:3].lower(): n for n, name in enumerate(MONTH_NAMES, 1)}
_MONTHS = {name.lower(): n for n, name in enumerate(MONTH_NAMES, 1)} | _ABBREVIATIONS
# "may" is also a verb; it only counts as a month when no other month is named.
_AMBIGUOUS_MONTH = "may"
# Words between a day and its month: "the fifth of march", "march the fifth".
_DAY_GLUE = FILLERS | {"the", "of", "on"}
_ISO_DATE = re.compile(r"\b([0-9]{4})\s*([/.-])\s*([0-9]{1,2})\s*\2\s*([0-9]{1,2})\b")
_US_DATE = re.compile(r"\b([0-9]{1,2})\s*([/.-])\s*([0-9]{1,2})\s*\2\s*([0-9]{4}|[0-9]{2})\b")
_KEYPAD_DATE = re.compile(r"[0-9]{8}")
# Spoken between the numbers of a date said as numbers: "oh seven, fifteen, eighty".
_NUMBER_GLUE = FILLERS | {"oh", ",", "/", "-", "."}
_CENTURIES = (19, 20)  # "nineteen eighty", "twenty ten": a year, not a day and a year
_EXAMPLE = "like March 5th 1980"


def parse_date(
    text: str,
    *,
    today: date,
    minimum: date | None = None,
    maximum: date | None = None,
    keypad: bool = False,
) -> date:
    """Read a date with a year: "march fifth nineteen eighty", "03/05/1980", keypad "03051980"."""
    if keypad:
        entry = text.strip()
        if not _KEYPAD_DATE.fullmatch(entry):
            raise AnswerError("expected eight digits: month, day and year (MMDDYYYY)")
        month, day, year = int(entry[:2]), int(entry[2:4]), entry[4:]
    else:
        month, day, year = _read_parts(text)
    return _resolve(year, month, day, limit=maximum or today, minimum=minimum, maximum=maximum)


def _read_parts(text: str) -> tuple[int, int, str]:
    """(month, day, year digits) from a spoken or written date."""
    tokens = spoken_tokens(text)
    named = _named_months(tokens)
    if named:
        return _read_named_month(tokens, named)
    cleaned = clean(text)
    if iso := _ISO_DATE.search(cleaned):
        return int(iso[3]), int(iso[4]), iso[1]
    if us := _US_DATE.search(cleaned):
        return int(us[1]), int(us[3]), us[4]
    digits = _digits(tokens)
    if len(digits) == 8:  # spoken or typed MMDDYYYY: "oh three oh five nineteen eighty"
        return int(digits[:2]), int(digits[2:4]), digits[4:]
    if spoken := _spoken_numbers(tokens):
        return spoken
    raise AnswerError(f"expected a date {_EXAMPLE}")


def _spoken_numbers(tokens: Sequence[str]) -> tuple[int, int, str] | None:
    """A date said as numbers in US order, and nothing else: "oh seven fifteen eighty",
    "nine eleven nineteen eighty", "7 15 80"."""
    runs = number_runs(tokens)
    covered = {index for run in runs for index in range(run.start, run.end)}
    if any(i not in covered and t not in _NUMBER_GLUE for i, t in enumerate(tokens)):
        return None
    values = [int(run.value) for run in runs if run.value.is_integer() and not run.ordinal]
    if len(values) != len(runs) or len(values) not in (3, 4):
        return None
    month, day, *year = values
    if len(year) == 2:  # "nineteen eighty"
        if year[0] not in _CENTURIES or not 0 <= year[1] <= 99:
            return None
        year = [year[0] * 100 + year[1]]
    if not (1 <= month <= 12 and 1 <= day <= 31 and 0 <= year[0] <= 9999):
        return None
    return month, day, f"{year[0]:02d}" if year[0] < 100 else str(year[0])


def _named_months(tokens: Sequence[str]) -> list[tuple[int, int]]:
    """(token index, month) for every month name, with "may" dropped if others are named."""
    named = [(index, _MONTHS[token]) for index, token in enumerate(tokens) if token in _MONTHS]
    if any(tokens[index] != _AMBIGUOUS_MONTH for index, _ in named):
        named = [(index, month) for index, month in named if tokens[index] != _AMBIGUOUS_MONTH]
    if len({month for _, month in named}) > 1:
        raise AnswerError(f"expected a single date {_EXAMPLE}")
    return named


def _read_named_month(tokens: Sequence[str], named: list[tuple[int, int]]) -> tuple[int, int, str]:
    """Try each mention of the month ("may" may be a verb) until one has a day next to it."""
    errors: list[AnswerError] = []
    for index, month in named:
        try:
            day, year = _day_and_year(tokens[:index], tokens[index + 1 :])
        except AnswerError as error:
            errors.append(error)
        else:
            return month, day, year
    raise errors[0]


def _day_and_year(before: Sequence[str], after: Sequence[str]) -> tuple[int, str]:
    """Find the day next to the month name and the year after it (or before it)."""
    start = skip_noise(after, 0, skip=_DAY_GLUE)
    day = read_number(after, start) if start < len(after) else None
    # "march nineteen eighty" is a year after the month; "the fifth of march ..." has its day before
    if day is not None and _is_day(day) and not _is_year_instead(after, day):
        year_tokens = after[day.end :]
        if not _digits(year_tokens):  # "nineteen eighty march fifth"
            year_tokens = before
        return int(day.value), _digits(year_tokens)
    runs = number_runs(before)
    if (
        runs
        and _is_day(runs[-1])
        and skip_noise(before, runs[-1].end, skip=_DAY_GLUE) == len(before)
    ):
        return int(runs[-1].value), _digits(after)
    raise AnswerError(f"expected a date with a day, {_EXAMPLE}")


def _is_day(run: NumberRun) -> bool:
    return run.value.is_integer() and 1 <= run.value <= 31


def _is_year_instead(after: Sequence[str], day: NumberRun) -> bool:
    """Whether "march nineteen eighty" means March 1980 (no day), not March 19th '80."""
    if day.ordinal or is_numeral(after[day.start]) or day.end >= len(after):
        return False
    if day.value not in _CENTURIES:  # "july fifteen eighty" is July 15th '80, not 1580
        return False
    following = read_number(after, day.end)
    starts_year = following is not None and not following.ordinal
    return (starts_year or after[day.end] == "oh") and len(_digits(after[day.end :])) == 2


def _digits(tokens: Sequence[str]) -> str:
    return digits_of(with_numerals(tokens))


def _resolve(
    year: str, month: int, day: int, *, limit: date, minimum: date | None, maximum: date | None
) -> date:
    """Build the date, choosing the century of a two-digit year, and check the range."""
    if len(year) == 4:
        years = [int(year)]
    elif len(year) == 2:
        years = [1900 + int(year), 2000 + int(year)]
    elif not year:
        raise AnswerError(f"expected a date with a year, {_EXAMPLE}")
    else:
        raise AnswerError(f"expected a four-digit year, {_EXAMPLE}")
    candidates = [found for found in (_calendar_date(y, month, day) for y in years) if found]
    if not candidates:
        raise AnswerError("expected a real calendar date")
    allowed = [
        candidate
        for candidate in candidates
        if (minimum is None or candidate >= minimum) and (maximum is None or candidate <= maximum)
    ]
    if not allowed:
        raise AnswerError(_range_message(minimum, maximum))
    not_after_limit = [candidate for candidate in allowed if candidate <= limit]
    return max(not_after_limit) if not_after_limit else min(allowed)


def _calendar_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:  # February 30th, month 13, year 0
        return None


def _range_message(minimum: date | None, maximum: date | None) -> str:
    if minimum is not None and maximum is not None:
        return f"expected a date between {_describe(minimum)} and {_describe(maximum)}"
    if minimum is not None:
        return f"expected a date on or after {_describe(minimum)}"
    return f"expected a date on or before {_describe(maximum)}" if maximum else "expected a date"


def _describe(bound: date) -> str:
    return f"{MONTH_NAMES[bound.month - 1]} {bound.day}, {bound.year}"
