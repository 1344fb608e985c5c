"""Time, injected: the call, the store, the deliverer and the scheduler all read it here.

A ``Clock`` is anything that returns an aware UTC datetime when called; ``utc_now`` is the
system's, ``service.scheduler.clock.SimulatedClock`` a faster one for ``serve --simulate``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def __call__(self) -> datetime: ...


def utc_now() -> datetime:
    return datetime.now(UTC)
