"""When to try again: the schedule with jitter, and the receiver's ``Retry-After``."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime


def retry_delay(
    schedule: list[float],
    attempts_made: int,
    *,
    jitter: float,
    rng: random.Random,
    retry_after: timedelta | None = None,
) -> timedelta | None:
    """The wait before the next attempt, or None when the schedule is used up.

    Jitter spreads the retries of many deliveries that failed together (a receiver's
    outage) so they do not all return at once. ``Retry-After`` can only lengthen the
    wait, and never beyond the schedule's longest step.
    """
    if attempts_made >= len(schedule):
        return None
    seconds = schedule[attempts_made] * rng.uniform(1 - jitter, 1 + jitter)
    if retry_after is not None:
        seconds = max(seconds, min(retry_after.total_seconds(), max(schedule)))
    return timedelta(seconds=seconds)


def parse_retry_after(value: str | None, now: datetime) -> timedelta | None:
    """``Retry-After`` as seconds or as an HTTP date; None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return timedelta(seconds=int(value))
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        return None
    return max(moment - now, timedelta(0))
