"""Whole numbers (ratings, counts), amounts of money and digit strings (order numbers, PINs)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from flows.engine.parsers.normalize import digits_of, require_length, spoken_tokens
from flows.engine.parsers.number_words import number_runs, with_numerals
from flows.errors import AnswerError

_NEGATIVE = frozenset({"minus", "negative"})
# Shorthand callers use for amounts, rewritten to the words the number grammar knows.
_AMOUNT_SHORTHAND = {
    "k": "thousand",
    "grand": "thousand",
    "m": "million",
    "mil": "million",
    "mill": "million",
    "bn": "billion",
}


def parse_integer(text: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """Read one whole number: "five", "I'd give it a four", "four out of five", "twenty three"."""
    expected = "a whole number" + _range_phrase(minimum, maximum)
    value = _single_quantity(spoken_tokens(text), expected)
    if not value.is_integer():
        raise AnswerError(f"expected {expected}")
    integer = int(value)
    if (minimum is not None and integer < minimum) or (maximum is not None and integer > maximum):
        raise AnswerError(f"expected {expected}")
    return integer


def parse_number(text: str) -> float:
    """Read one amount: "twenty thousand", "50k", "$75,000", "one point five million"."""
    tokens = [_AMOUNT_SHORTHAND.get(token, token) for token in spoken_tokens(text)]
    value = _single_quantity(tokens, "an amount")
    if not math.isfinite(value):
        raise AnswerError("expected an amount")
    return value


def parse_digits(text: str, *, min_length: int = 1, max_length: int | None = None) -> str:
    """Read a digit string: "three three four", "it's three thirty four", "double four two"."""
    digits = digits_of(with_numerals(spoken_tokens(text)))
    if not digits:
        raise AnswerError("expected digits")
    return require_length(digits, "digit", min_length, max_length)


def _single_quantity(tokens: Sequence[str], expected: str) -> float:
    """The one number the caller gave; repeating it is fine, two different ones are not."""
    found: float | None = None
    for run in number_runs(tokens):
        if run.ordinal or _is_rating_scale(tokens, run.start):
            continue
        sign = -1 if run.start > 0 and tokens[run.start - 1] in _NEGATIVE else 1
        if found is not None and sign * run.value != found:
            raise AnswerError(f"expected only one number: {expected}")
        found = sign * run.value
    if found is None:
        raise AnswerError(f"expected {expected}")
    return found


def _range_phrase(minimum: int | None, maximum: int | None) -> str:
    if minimum is not None and maximum is not None:
        return f" between {minimum} and {maximum}"
    if minimum is not None:
        return f" of at least {minimum}"
    if maximum is not None:
        return f" of at most {maximum}"
    return ""


def _is_rating_scale(tokens: Sequence[str], start: int) -> bool:
    """ "four out of five", "8/10": the number after "out of" is the scale, not the answer."""
    return list(tokens[max(start - 2, 0) : start]) == ["out", "of"] or (
        start > 0 and tokens[start - 1] == "/"
    )
