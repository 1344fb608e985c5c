"""Phone numbers as the API takes them: E.164 or national form (the default region's)."""

from __future__ import annotations

import phonenumbers

LONGEST = 64  # characters of input considered at all; no real number comes close


def e164(number: str, region: str) -> str | None:
    """``number`` in E.164, or None when it is not a valid phone number."""
    if not number or len(number) > LONGEST:
        return None
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
