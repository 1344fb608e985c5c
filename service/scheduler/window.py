"""When a calling window is open in every zone a callee may be in.

Exact across DST changes: each zone's time line is cut into pieces of constant UTC offset
(found by sampling the offset and bisecting to the second where it changes), and within a
piece local time is UTC plus that offset, so each window day maps to one UTC interval. The
zones' interval lists are then intersected. No minute stepping: a few hundred offset lookups
per zone, and the scheduler caches the answer per (window, zones) within one pass.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from service.scheduler.rules import DAYS, Window

# How far ahead an opening is looked for: a weekly window opens within 7 days, and the
# extra day covers zones whose local week is a day off from UTC's.
HORIZON = timedelta(days=8)
# Offsets are sampled this far apart; a zone never changes its offset twice within it.
SAMPLE = timedelta(hours=3)
ONE_SECOND = timedelta(seconds=1)

Interval = tuple[datetime, datetime]  # [start, end) in UTC


def next_opening(window: Window, zones: Sequence[str], now: datetime) -> datetime | None:
    """``now`` if the window holds now in every zone, else the earliest later instant when
    it holds in all of them at once; None if there is none within ``HORIZON`` (or no zone).
    Days are each zone's local weekdays; ``start`` is included, ``end`` is not."""
    if not zones:
        return None
    now = now.astimezone(UTC)
    if all(holds(window, zone, now) for zone in zones):
        return now
    end = now + HORIZON
    common: list[Interval] = [(now, end)]
    for zone in dict.fromkeys(zones):  # a zone named twice changes nothing
        common = _intersect(common, open_intervals(window, zone, now, end))
        if not common:
            return None
    return common[0][0]


def open_intervals(window: Window, zone: str, start: datetime, end: datetime) -> list[Interval]:
    """The UTC intervals within [start, end) when ``window`` holds in ``zone``, in order."""
    days = {DAYS.index(day) for day in window.days}
    opened: list[Interval] = []
    for piece_start, piece_end, offset in _constant_offset_pieces(zone, start, end):
        local_start, local_end = _naive(piece_start + offset), _naive(piece_end + offset)
        day = local_start.date()
        while day <= local_end.date():
            if day.weekday() in days:
                low = max(local_start, datetime.combine(day, window.start))
                high = min(local_end, datetime.combine(day, window.end))
                if low < high:
                    interval = (
                        (low - offset).replace(tzinfo=UTC),
                        (high - offset).replace(tzinfo=UTC),
                    )
                    _append(opened, interval)
            day += timedelta(days=1)
    return opened


def holds(window: Window, zone: str, moment: datetime) -> bool:
    """Whether ``window`` holds at ``moment`` in ``zone``'s wall-clock time (for checks)."""
    local = moment.astimezone(ZoneInfo(zone))
    return DAYS[local.weekday()] in window.days and window.start <= local.time() < window.end


def _append(intervals: list[Interval], interval: Interval) -> None:
    """Add in order, joining an interval that continues the last one (a piece boundary)."""
    if intervals and intervals[-1][1] >= interval[0]:
        intervals[-1] = (intervals[-1][0], max(intervals[-1][1], interval[1]))
    else:
        intervals.append(interval)


def _intersect(left: Iterable[Interval], right: Iterable[Interval]) -> list[Interval]:
    a, b = list(left), list(right)
    out: list[Interval] = []
    i = j = 0
    while i < len(a) and j < len(b):
        low, high = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if low < high:
            out.append((low, high))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def _naive(moment: datetime) -> datetime:
    return moment.replace(tzinfo=None)


def _constant_offset_pieces(
    zone: str, start: datetime, end: datetime
) -> list[tuple[datetime, datetime, timedelta]]:
    """[a, b) pieces of [start, end) over which ``zone``'s UTC offset does not change."""
    changes = _offset_changes(zone, start.replace(microsecond=0), end)
    pieces: list[tuple[datetime, datetime, timedelta]] = []
    piece_start = start
    for change, _ in changes:
        if change > piece_start:
            pieces.append((piece_start, change, _offset(zone, piece_start)))
            piece_start = change
    pieces.append((piece_start, end, _offset(zone, piece_start)))
    return pieces


@lru_cache(maxsize=4096)
def _offset_changes(zone: str, start: datetime, end: datetime) -> tuple[tuple[datetime, int], ...]:
    """The instants in (start, end] where the offset changes (to the second), cached: one
    pass asks about the same zones and instant for thousands of calls."""
    changes: list[tuple[datetime, int]] = []
    before, offset = start, _offset(zone, start)
    while before < end:
        after = min(before + SAMPLE, end)
        if _offset(zone, after) != offset:
            before = _first_change(zone, before, after, offset)
            offset = _offset(zone, before)
            changes.append((before, int(offset.total_seconds())))
        else:
            before = after
    return tuple(changes)


def _first_change(zone: str, low: datetime, high: datetime, offset: timedelta) -> datetime:
    """The first second in (low, high] whose offset differs from ``offset`` (at ``low``)."""
    while high - low > ONE_SECOND:
        middle = low + timedelta(seconds=(high - low) // ONE_SECOND // 2)
        if _offset(zone, middle) == offset:
            low = middle
        else:
            high = middle
    return high


def _offset(zone: str, moment: datetime) -> timedelta:
    offset = moment.astimezone(ZoneInfo(zone)).utcoffset()
    assert offset is not None  # a ZoneInfo always knows its offset
    return offset
