"""How fast dials may go out: per outbound trunk and per campaign.

A rate of ``r`` calls per second means no half-open second ever holds more than ``r``
dials. Dials are spaced evenly, ``1/floor(r)`` seconds apart (rounded up to the
microsecond): ``floor(r) + 1`` dials that far apart span at least a whole second, so no
half-open second can hold them all, while a fraction of a call per second cannot be placed
without breaking that in some second (2.5/s would need 3 in one second). Below 1/s the
spacing is ``1/r``: one dial per ``1/r`` seconds. Even spacing rather than bursts also
suits carriers, which count calls per second.

The state is one instant per trunk and per campaign: when its next dial may go out.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta


def dial_spacing(calls_per_second: float) -> timedelta:
    """The least time between two dials at ``calls_per_second`` (> 0)."""
    if calls_per_second <= 0:
        raise ValueError("a dial rate must be positive")
    per_second = math.floor(calls_per_second) if calls_per_second >= 1 else calls_per_second
    return timedelta(microseconds=math.ceil(1_000_000 / per_second))


# How far past one spacing beyond the latest slot a claim may take (its horizon) a stored
# next slot can lie before it is taken for the mark of a clock that has gone back since (a
# simulated clock, ``intake serve --now``, or a clock NTP corrected) and ignored, rather
# than waited for.
CLOCK_SLACK = timedelta(seconds=60)


def believable(
    next_dispatch_at: datetime | None, latest: datetime, calls_per_second: float
) -> datetime | None:
    """The stored next slot, or None when it is too far ahead to be real (see CLOCK_SLACK)."""
    if next_dispatch_at is None:
        return None
    if next_dispatch_at > latest + dial_spacing(calls_per_second) + CLOCK_SLACK:
        return None
    return next_dispatch_at


def slot_free(next_dispatch_at: datetime | None, now: datetime) -> bool:
    """Whether a dial may go out at ``now``; None: nothing has been dialled yet."""
    return next_dispatch_at is None or next_dispatch_at <= now


def take_slot(
    next_dispatch_at: datetime | None, now: datetime, calls_per_second: float
) -> datetime:
    """Dial at ``now`` (its slot must be free): the instant the next dial may go out."""
    if not slot_free(next_dispatch_at, now):
        raise ValueError("the slot is not free yet")
    return now + dial_spacing(calls_per_second)
