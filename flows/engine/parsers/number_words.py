"""Spoken numbers: the vocabulary and a small grammar that reads them out of tokens.

``text_to_num.alpha2digit`` is not used because its output needs re-parsing and its choices
do not suit dictation ("zero one" becomes ``01``, a lone "one" stays a word, "a hundred" keeps
its article). The grammar here is greedy the way callers speak:

* "twenty three" is 23, but "four one five" is three numbers (a unit cannot follow a unit);
* "nineteen eighty" is two numbers (19, 80) - dates and digit strings join them;
* "two thousand and one", "a hundred", "one point five million", "half a million",
  "two and a half thousand", "20 thousand", "thirty first" (an ordinal) are single numbers.

Tokens come from :func:`flows.engine.parsers.normalize.spoken_tokens`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from flows.engine.parsers.normalize import is_numeral, token_at


def _numbered(words: str, first: int, step: int = 1) -> dict[str, int]:
    """Number space-separated words: ``_numbered("ten eleven", 10)`` -> {"ten": 10, ...}."""
    return {word: first + step * index for index, word in enumerate(words.split())}


UNITS = _numbered("zero one two three four five six seven eight nine", 0)
TEENS = _numbered(
    "ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen", 10
)
TENS = _numbered("twenty thirty forty fifty sixty seventy eighty ninety", 20, step=10)
ORDINALS = _numbered(
    "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth"
    " thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth",
    1,
) | _numbered(
    "twentieth thirtieth fortieth fiftieth sixtieth seventieth eightieth ninetieth", 20, 10
)
SCALES = {"thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000}
NUMBER_WORDS = frozenset({*UNITS, *TEENS, *TENS, "hundred", *SCALES})
_ORDINAL_SUFFIXES = frozenset({"st", "nd", "rd", "th"})
# "oh" is a zero only next to other digits ("oh five"); alone it is an interjection.
_SPOKEN_ZERO = "oh"
_BELOW_TEN = {**UNITS, _SPOKEN_ZERO: 0}
_ARTICLES = frozenset({"a", "an"})
_GROUPED_NUMERAL = re.compile(r"[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?")
_PLAIN_NUMERAL = re.compile(r"[0-9]+(?:\.[0-9]+)?")


@dataclass(frozen=True)
class NumberRun:
    """One number read from ``tokens[start:end]``."""

    value: float
    start: int
    end: int
    ordinal: bool = False


def read_number(tokens: Sequence[str], start: int) -> NumberRun | None:
    """Read the number starting at ``tokens[start]``, or None if no number starts there."""
    ordinal = False
    scaled = False
    if is_numeral(tokens[start]):
        numeral = _numeral_value(tokens[start])
        if numeral is None:
            return None
        value, end = numeral, start + 1
    elif (half := _read_half_scale(tokens, start)) is not None:
        return half
    else:
        whole = _read_whole(tokens, start)
        if whole is None:
            return None
        whole_value, end, ordinal, scaled = whole
        value = float(whole_value)
        if not (ordinal or scaled):
            value, end = _read_fraction(tokens, whole_value, end)
    if not (ordinal or scaled) and (scale := SCALES.get(token_at(tokens, end))):
        value, end = value * scale, end + 1
    elif is_numeral(tokens[start]) and token_at(tokens, end) in _ORDINAL_SUFFIXES:
        ordinal, end = True, end + 1
    return NumberRun(value, start, end, ordinal)


def number_runs(tokens: Sequence[str]) -> list[NumberRun]:
    """Every number in ``tokens``, left to right."""
    runs: list[NumberRun] = []
    index = 0
    while index < len(tokens):
        run = read_number(tokens, index)
        if run is None:
            index += 1
        else:
            runs.append(run)
            index = run.end
    return runs


def with_numerals(tokens: Sequence[str]) -> list[str]:
    """``tokens`` with every spoken number replaced by a numeral ("oh five" -> ``0``, ``5``).

    Numerals already present are kept as they are, leading zeros included; ordinals stay words.
    """
    converted: list[str] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        run = None if is_numeral(token) else read_number(tokens, index)
        # "first.last@..." or "give me a second" are not digits.
        if run is not None and not run.ordinal:
            whole = run.value.is_integer()
            converted.append(str(int(run.value)) if whole else repr(run.value))
            index = run.end
            continue
        if token == _SPOKEN_ZERO and _next_to_digits(tokens, index, converted):
            token = "0"
        converted.append(token)
        index += 1
    return converted


def _next_to_digits(tokens: Sequence[str], index: int, converted: Sequence[str]) -> bool:
    before = bool(converted) and is_numeral(converted[-1])
    following = token_at(tokens, index + 1)
    after = following == _SPOKEN_ZERO or (
        bool(following) and read_number(tokens, index + 1) is not None
    )
    return before or after


def _numeral_value(token: str) -> float | None:
    # "75,000" is seventy-five thousand; "415.555.0199" or "1,2" are not quantities.
    if _GROUPED_NUMERAL.fullmatch(token):
        return float(token.replace(",", ""))
    if _PLAIN_NUMERAL.fullmatch(token):
        return float(token)
    return None


def _read_half_scale(tokens: Sequence[str], start: int) -> NumberRun | None:
    """Read "half a million" or "a half million"."""
    first, second, third = (token_at(tokens, start + offset) for offset in range(3))
    halved = (first == "half" and second in _ARTICLES) or (first in _ARTICLES and second == "half")
    if halved and third in SCALES:
        return NumberRun(SCALES[third] / 2, start, start + 3)
    return None


def _read_fraction(tokens: Sequence[str], whole: int, end: int) -> tuple[float, int]:
    """Extend a whole number by "point five" or "and a half"."""
    if list(tokens[end : end + 3]) == ["and", "a", "half"]:
        return whole + 0.5, end + 3
    if token_at(tokens, end) != "point":
        return float(whole), end
    digits = ""
    index = end + 1
    while token_at(tokens, index) in _BELOW_TEN:
        digits += str(_BELOW_TEN[tokens[index]])
        index += 1
    if not digits:
        return float(whole), end
    return float(f"{whole}.{digits}"), index


def _read_whole(tokens: Sequence[str], start: int) -> tuple[int, int, bool, bool] | None:
    """Read "two thousand and one" style numbers: (value, end, ordinal, ended on a scale)."""
    total = 0
    index = start
    last_scale = 0
    while True:
        group = _read_group(tokens, index)
        if group is None:
            break
        value, end, ordinal = group
        scale = SCALES.get(token_at(tokens, end))
        if scale and not ordinal and value > 0 and (not last_scale or scale < last_scale):
            total += value * scale
            last_scale = scale
            index = end + 1
            if token_at(tokens, index) == "and" and _read_group(tokens, index + 1) is not None:
                index += 1
            continue
        # After "two thousand", a zero or another big group ("two thousand twenty thousand")
        # starts a new number.
        if scale or (last_scale and not 0 < value < last_scale):
            break
        return total + value, end, ordinal, False
    if index == start:
        return None
    return total, index, False, True


def _read_group(tokens: Sequence[str], start: int) -> tuple[int, int, bool] | None:
    """Read a group below ten thousand: "five", "a hundred", "nineteen hundred and five"."""
    if token_at(tokens, start) in _ARTICLES:
        following = token_at(tokens, start + 1)
        if following in SCALES:
            return 1, start + 1, False
        if following != "hundred":
            return None
        value, index = 100, start + 2
    else:
        small = _read_below_hundred(tokens, start)
        if small is None or small[2] or small[0] == 0 or token_at(tokens, small[1]) != "hundred":
            return small
        value, index = small[0] * 100, small[1] + 1
    after_and = index + 1 if token_at(tokens, index) == "and" else index
    rest = _read_below_hundred(tokens, after_and)
    if rest is not None and rest[0] > 0:
        return value + rest[0], rest[1], rest[2]
    return value, index, False


def _read_below_hundred(tokens: Sequence[str], start: int) -> tuple[int, int, bool] | None:
    """Read "seven", "seventeen", "seventy", "seventy seven", "seventh", "seventy seventh"."""
    word = token_at(tokens, start)
    if word in TENS:
        following = token_at(tokens, start + 1)
        if UNITS.get(following, 0) > 0:
            return TENS[word] + UNITS[following], start + 2, False
        if ORDINALS.get(following, 10) < 10:
            return TENS[word] + ORDINALS[following], start + 2, True
        return TENS[word], start + 1, False
    if word in UNITS:
        return UNITS[word], start + 1, False
    if word in TEENS:
        return TEENS[word], start + 1, False
    if word in ORDINALS:
        return ORDINALS[word], start + 1, True
    return None
