"""The clock of ``intake serve --simulate``: it starts at ``--now`` and runs ``--speed`` times
faster than real time, so calling windows and retry delays can be watched in seconds.

It is an ordinary ``Clock`` (a callable returning an aware UTC datetime) for the store, the
scheduler and the payload times; ``sleep`` waits for an amount of *its* time. Webhook
signatures never use it: receivers check ``webhook-timestamp`` against their real clock.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from service.errors import ServiceError


class ClockError(ServiceError):
    """A simulated clock that cannot run: a naive start or a speed that is not positive."""


class SimulatedClock:
    def __init__(
        self,
        start: datetime,
        speed: float = 1.0,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if start.tzinfo is None or start.utcoffset() is None:
            raise ClockError("the simulated clock needs a start with a time zone")
        if not speed > 0:  # also refuses NaN
            raise ClockError("the simulated clock's speed must be greater than 0")
        self.start = start.astimezone(UTC)
        self.speed = float(speed)
        self._monotonic = monotonic
        self._origin = monotonic()

    def __call__(self) -> datetime:
        elapsed = (self._monotonic() - self._origin) * self.speed
        return self.start + timedelta(seconds=elapsed)

    def real_seconds(self, seconds: float) -> float:
        """How long ``seconds`` of this clock's time take in real time."""
        return max(0.0, seconds) / self.speed

    async def sleep(self, seconds: float) -> None:
        """Wait until ``seconds`` of this clock's time have passed."""
        await asyncio.sleep(self.real_seconds(seconds))

    async def sleep_until(self, moment: datetime) -> None:
        """Wait until this clock reads ``moment`` (at once if it is past)."""
        await self.sleep((moment - self()).total_seconds())

    def __repr__(self) -> str:
        return f"SimulatedClock(start={self.start.isoformat()}, speed={self.speed:g})"
