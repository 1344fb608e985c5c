"""Phone numbers as the API takes them: E.164 or national form (the default region's)."""

from __future__ import annotations

from flows.engine.phones import to_e164
from flows.errors import AnswerError

LONGEST = 64  # characters of input considered at all; no real number comes close


def e164(number: str, region: str) -> str | None:
    """``number`` in E.164, or None when it is not a valid phone number."""
    if not number or len(number) > LONGEST:
        return None
    try:
        return to_e164(number, region)
    except AnswerError:
        return None
