"""Every parser is total: on any text it returns a value or raises AnswerError, nothing else.

Also checks that error messages never repeat what the caller said.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flows.engine.parsers import (
    ChoiceOption,
    is_none_answer,
    parse_alphanumeric,
    parse_choice,
    parse_date,
    parse_digits,
    parse_email,
    parse_integer,
    parse_list,
    parse_name,
    parse_number,
    parse_phone,
    parse_text,
    parse_yes_no,
)
from flows.errors import AnswerError

TODAY = date(2025, 6, 1)
OPTIONS = (
    ChoiceOption("plumbing", "plumbing", ("leak",)),
    ChoiceOption("hvac", "heating and cooling", ("heat pump",)),
    ChoiceOption("under_10k", "under 10 thousand", maximum=10_000),
    ChoiceOption("10k_plus", "10 thousand or more", minimum=10_000),
)

PARSERS: dict[str, Callable[[str], Any]] = {
    "yes_no": parse_yes_no,
    "integer": parse_integer,
    "integer_ranged": lambda text: parse_integer(text, minimum=1, maximum=5),
    "number": parse_number,
    "digits": parse_digits,
    "digits_bounded": lambda text: parse_digits(text, min_length=4, max_length=6),
    "alphanumeric": parse_alphanumeric,
    "date": lambda text: parse_date(text, today=TODAY),
    "date_bounded": lambda text: parse_date(
        text, today=TODAY, minimum=date(1900, 1, 1), maximum=TODAY
    ),
    "date_keypad": lambda text: parse_date(text, today=TODAY, keypad=True),
    "phone": parse_phone,
    "phone_gb": lambda text: parse_phone(text, region="GB"),
    "email": parse_email,
    "name": parse_name,
    "text": parse_text,
    "choice": lambda text: parse_choice(text, OPTIONS),
    "list_of_text": lambda text: parse_list(text, item=parse_text),
    "list_of_integers": lambda text: parse_list(text, item=parse_integer),
    "none": is_none_answer,
}

# Words and marks the parsers give meaning to, so generated answers reach deep code paths.
_VOCABULARY_TEXT = """
    zero oh one two three four five six seven eight nine ten eleven twelve nineteen twenty
    thirty ninety hundred thousand million billion a an and half point k grand mil m first
    second fifth twelfth twentieth thirty-first twenty-three st th double triple out of minus
    march may december sept the of on at dot dash underscore plus is it's my name i'm me
    yes no not sure maybe uh-huh nope none n/a as in b x w u you bee oh-five here speaking
    0 00 07 19 80 1980 03051980 415 555 0199 1,000 75,000 1.5 415.555.0199 99999999999999999999
"""
VOCABULARY = [
    *_VOCABULARY_TEXT.split(),
    *"+-/.,@'$&;()#*_",
    *("9" * 400, "1" * 5000, "\u0663", "\u00bd", "\ufb01"),
]

number_word_texts = st.lists(st.sampled_from(VOCABULARY), max_size=12).map(" ".join)
joined_texts = st.lists(st.sampled_from(VOCABULARY), max_size=8).map("".join)


def _call(name: str, text: str) -> None:
    try:
        PARSERS[name](text)
    except AnswerError as error:
        assert str(error).startswith("expected")


@pytest.mark.parametrize("name", sorted(PARSERS))
@settings(max_examples=60, deadline=None)
@given(text=st.text())
def test_total_on_any_text(name: str, text: str) -> None:
    _call(name, text)


@pytest.mark.parametrize("name", sorted(PARSERS))
@settings(max_examples=80, deadline=None)
@given(text=st.one_of(number_word_texts, joined_texts))
def test_total_on_number_words_and_punctuation(name: str, text: str) -> None:
    _call(name, text)


@pytest.mark.parametrize("name", sorted(PARSERS))
@settings(max_examples=30, deadline=None)
@given(secret=st.from_regex(r"[qxz]{6,9}", fullmatch=True), context=number_word_texts)
def test_errors_never_quote_the_caller(name: str, secret: str, context: str) -> None:
    try:
        PARSERS[name](f"{context} {secret} {context}")
    except AnswerError as error:
        assert secret not in str(error).lower()


@pytest.mark.parametrize(
    "text", ["\ud800", "\x00", "\u200b", "\u0130stanbul", "\u1e9e", "ﬃ", "  \u3000 ", "é" * 2000]
)
@pytest.mark.parametrize("name", sorted(PARSERS))
def test_total_on_odd_unicode(name: str, text: str) -> None:
    _call(name, text)
