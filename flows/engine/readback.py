"""How an agent reads a collected value back to the caller.

TTS reads "415" as "four hundred fifteen", so digits are spelled out as words. Every rendering
here is parsed back to the same value by :mod:`flows.engine.parsers` (the tests check the
round trips).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date

import phonenumbers

from flows.engine.parsers.contact import EMAIL_SYMBOL_NAMES
from flows.engine.parsers.dates import MONTH_NAMES
from flows.engine.parsers.number_words import ORDINALS, SCALES, TEENS, TENS, UNITS
from flows.engine.parsers.regions import country_name

_DIGIT_WORDS = {str(value): word for word, value in UNITS.items()}
_SMALL_WORDS = {value: word for word, value in (UNITS | TEENS | TENS).items()}
_ORDINAL_WORDS = {value: word for word, value in ORDINALS.items()}
_SCALES_DESCENDING = sorted(SCALES.items(), key=lambda scale: scale[1], reverse=True)
_EMAIL_PIECE = re.compile(r"[^\W\d_]+|.")


def speak_digits(digits: str) -> str:
    """ "334" -> "three three four"."""
    if not digits.isascii() or not digits.isdigit():
        raise ValueError("speak_digits expects ASCII digits only")
    return " ".join(_DIGIT_WORDS[digit] for digit in digits)


def speak_phone(e164: str) -> str:
    """ "+14155550199" -> "four one five, five five five, zero one nine nine".

    Grouped the way the number is written nationally; the country code is said ("plus four
    four, ...") only outside the +1 area. A malformed number raises
    ``phonenumbers.NumberParseException``.
    """
    number = phonenumbers.parse(e164)
    if number.country_code == 1:
        written = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
        return ", ".join(speak_digits(group) for group in re.findall("[0-9]+", written))
    written = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return "plus " + ", ".join(speak_digits(group) for group in re.findall("[0-9]+", written))


def speak_email(address: str) -> str:
    """ "bob_smith@acme.io" -> "bob underscore smith at acme dot io"; digits one by one."""
    pieces = _EMAIL_PIECE.findall(address)
    return " ".join(
        _DIGIT_WORDS.get(piece, EMAIL_SYMBOL_NAMES.get(piece, piece)) for piece in pieces
    )


def speak_date(day: date) -> str:
    """``date(1980, 3, 5)`` -> "March fifth, nineteen eighty"."""
    return f"{MONTH_NAMES[day.month - 1]} {_ordinal(day.day)}, {_year(day.year)}"


def speak_integer(n: int) -> str:
    """7 -> "seven", 20000 -> "twenty thousand", -3 -> "minus three"."""
    if n < 0:
        return "minus " + speak_integer(-n)
    if n == 0:
        return _SMALL_WORDS[0]
    words: list[str] = []
    for scale_word, scale in _SCALES_DESCENDING:
        count, n = divmod(n, scale)
        if count:
            words.append(f"{speak_integer(count)} {scale_word}")
    if n:
        words.append(_below_thousand(n))
    return " ".join(words)


def speak_alphanumeric(code: str) -> str:
    """ "ABC123" -> "A, B, C, one, two, three"."""
    return ", ".join(_DIGIT_WORDS.get(char, char.upper()) for char in code)


def _below_thousand(n: int) -> str:
    hundreds, rest = divmod(n, 100)
    words = [f"{_SMALL_WORDS[hundreds]} hundred"] if hundreds else []
    if rest:
        words.append(_below_hundred(rest))
    return " ".join(words)


def _below_hundred(n: int) -> str:
    if n in _SMALL_WORDS:
        return _SMALL_WORDS[n]
    tens, unit = divmod(n, 10)
    return f"{_SMALL_WORDS[tens * 10]} {_SMALL_WORDS[unit]}"


def _ordinal(n: int) -> str:
    """Ordinals up to 99: "fifth", "twenty first"."""
    if n in _ORDINAL_WORDS:
        return _ORDINAL_WORDS[n]
    tens, unit = divmod(n, 10)
    return f"{_SMALL_WORDS[tens * 10]} {_ORDINAL_WORDS[unit]}"


def _year(year: int) -> str:
    """Years as people say them: "nineteen eighty", "nineteen oh five", "two thousand one"."""
    century, rest = divmod(year, 100)
    if year < 1000 or year % 1000 < 10:  # "two thousand", "two thousand five"
        return speak_integer(year)
    if rest == 0:
        return f"{speak_integer(century)} hundred"
    if rest < 10:
        return f"{speak_integer(century)} oh {speak_integer(rest)}"
    return f"{speak_integer(century)} {speak_integer(rest)}"


def speak_address(address: Mapping[str, object]) -> str:
    """{street: "123 Main Street", unit: "Apt 4B", ..., postal_code: "62704"} ->
    "123 Main Street, Apt 4B, Springfield, IL, six two seven zero four"; the postal code's
    digits one by one, the country named when it is not the US."""
    parts = [
        str(address[part]) for part in ("street", "unit", "city", "region") if address.get(part)
    ]
    postal_code = address.get("postal_code")
    if postal_code:
        parts.append(speak_digits(str(postal_code).replace("-", "")))
    country = address.get("country")
    if country and country != "US":
        parts.append(country_name(str(country)) or str(country))
    return ", ".join(parts)
