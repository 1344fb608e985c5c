"""``intake serve --simulate [--now ISO] [--speed N]``: the options, checked at the boundary,
and the simulated clock they describe."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from service.errors import ServiceError
from service.store.clock import Clock, utc_now

FASTEST = 100_000.0  # a day in under a second; beyond that the scheduler cannot keep up


@dataclass(frozen=True)
class SimulateOptions:
    """Dialled calls run through the offline simulator; time starts at ``now`` (the real
    time if None) and runs ``speed`` times faster than real time."""

    now: datetime | None = None
    speed: float = 1.0

    def clock(
        self, *, real: Clock = utc_now, monotonic: Callable[[], float] = time.monotonic
    ) -> Clock:
        start, started, speed = self.now or real(), monotonic(), self.speed

        def simulated() -> datetime:
            return start + timedelta(seconds=(monotonic() - started) * speed)

        return simulated


def simulate_options(now: str | None, speed: float) -> SimulateOptions:
    """The options as given on the command line; ServiceError (one line) if invalid."""
    if not 0 < speed <= FASTEST:
        raise ServiceError(f"--speed must be above 0 and at most {FASTEST:g}")
    if now is None:
        return SimulateOptions(speed=speed)
    try:
        start = datetime.fromisoformat(now)
    except ValueError:
        raise ServiceError("--now must be an ISO-8601 time such as 2026-03-24T09:00:00Z") from None
    if start.tzinfo is None:  # a time without an offset is read as UTC
        start = start.replace(tzinfo=UTC)
    return SimulateOptions(now=start.astimezone(UTC), speed=speed)
