"""Spoken read-backs, and that every read-back parses back to the value it came from."""

from __future__ import annotations

from datetime import date

import phonenumbers
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from flows.engine.parsers import (
    parse_alphanumeric,
    parse_date,
    parse_digits,
    parse_email,
    parse_integer,
    parse_phone,
)
from flows.engine.readback import (
    speak_alphanumeric,
    speak_date,
    speak_digits,
    speak_email,
    speak_integer,
    speak_phone,
)


@pytest.mark.parametrize(
    ("n", "spoken"),
    [
        (0, "zero"),
        (7, "seven"),
        (10, "ten"),
        (19, "nineteen"),
        (42, "forty two"),
        (100, "one hundred"),
        (101, "one hundred one"),
        (20_000, "twenty thousand"),
        (1_000_000, "one million"),
        (999_999, "nine hundred ninety nine thousand nine hundred ninety nine"),
        (-3, "minus three"),
    ],
)
def test_speak_integer(n: int, spoken: str) -> None:
    assert speak_integer(n) == spoken


@pytest.mark.parametrize(
    ("day", "spoken"),
    [
        (date(1980, 3, 5), "March fifth, nineteen eighty"),
        (date(1905, 12, 31), "December thirty first, nineteen oh five"),
        (date(1900, 7, 21), "July twenty first, nineteen hundred"),
        (date(2000, 1, 1), "January first, two thousand"),
        (date(2001, 6, 12), "June twelfth, two thousand one"),
        (date(2010, 2, 20), "February twentieth, twenty ten"),
    ],
)
def test_speak_date(day: date, spoken: str) -> None:
    assert speak_date(day) == spoken


def test_speak_other_values() -> None:
    assert speak_digits("334") == "three three four"
    assert speak_phone("+14155550199") == "four one five, five five five, zero one nine nine"
    assert speak_phone("+442079460958") == "plus four four, two zero, seven nine four six, " + (
        "zero nine five eight"
    )
    assert speak_email("bob_smith@acme.io") == "bob underscore smith at acme dot io"
    assert speak_email("mary-ann+2@x.org") == "mary dash ann plus two at x dot org"
    assert speak_alphanumeric("ABC123") == "A, B, C, one, two, three"


def test_speak_digits_rejects_non_digits() -> None:
    with pytest.raises(ValueError, match="digits"):
        speak_digits("3-4")


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=1_000_000))
def test_integer_round_trip(n: int) -> None:
    assert parse_integer(speak_integer(n)) == n


@given(st.text(alphabet="0123456789", min_size=1, max_size=20))
def test_digits_round_trip(digits: str) -> None:
    assert parse_digits(speak_digits(digits)) == digits


def _is_valid_us(area_code: int) -> bool:
    return phonenumbers.is_valid_number(phonenumbers.parse(f"+1{area_code}2345678"))


VALID_AREA_CODES = [code for code in range(201, 990) if _is_valid_us(code)]


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(VALID_AREA_CODES),
    st.integers(min_value=200, max_value=999),
    st.integers(min_value=0, max_value=9999),
)
def test_phone_round_trip(area_code: int, exchange: int, line: int) -> None:
    e164 = f"+1{area_code}{exchange}{line:04d}"
    assume(phonenumbers.is_valid_number(phonenumbers.parse(e164)))
    assert parse_phone(speak_phone(e164)) == e164


_NAME_PARTS = st.sampled_from(["bob", "jane", "smith", "mary", "ann", "info", "lee", "j", "x"])
_DIGIT_RUNS = st.text(alphabet="0123456789", min_size=1, max_size=4)
_LOCAL_PARTS = st.builds(
    lambda first, separator, second, digits: first + separator + second + digits,
    _NAME_PARTS,
    st.sampled_from(["", ".", "_", "-", "+"]),
    _NAME_PARTS,
    st.one_of(st.just(""), _DIGIT_RUNS),
)
_DOMAINS = st.builds(
    lambda name, digits, tld: f"{name}{digits}.{tld}",
    st.sampled_from(["acme", "example", "mail", "x-y"]),
    st.one_of(st.just(""), _DIGIT_RUNS),
    st.sampled_from(["com", "org", "io", "co.uk"]),
)


@settings(max_examples=150, deadline=None)
@given(_LOCAL_PARTS, _DOMAINS)
def test_email_round_trip(local: str, domain: str) -> None:
    address = f"{local}@{domain}"
    assert parse_email(speak_email(address)) == address


@settings(max_examples=200, deadline=None)
@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2030, 12, 31)))
def test_date_round_trip(day: date) -> None:
    assert parse_date(speak_date(day), today=date(2025, 6, 1)) == day


@given(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=16))
def test_alphanumeric_round_trip(code: str) -> None:
    assert parse_alphanumeric(speak_alphanumeric(code)) == code
