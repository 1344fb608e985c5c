"""The one rule for written phone numbers: E.164 through phonenumbers.

A module of its own, outside the answer parsers, so that the API and the settings can
normalise a number without loading the parsers' tables (rapidfuzz, email-validator).
"""

from __future__ import annotations

import phonenumbers

from flows.errors import AnswerError


def to_e164(number: str, region: str | None) -> str:
    """A written number (``+1 415 555 0199``, ``(415) 555-0199``) in E.164: the one place
    numbers are normalised, for answers, settings, scenarios and the API. ``region``
    reads a number without a country code; None accepts only numbers with one."""
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        raise AnswerError("expected a phone number with its area code") from None
    if not phonenumbers.is_valid_number(parsed):
        raise AnswerError("expected a valid phone number with its area code")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
