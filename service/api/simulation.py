"""``intake serve --simulate [--now ISO] [--speed N]``: the options, checked at the boundary,
and the simulated clock they describe."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from flows.engine.clock import Clock, utc_now
from service.errors import ServiceError
from service.scheduler.clock import SimulatedClock

if TYPE_CHECKING:
    from flows.spec.flow import FlowSpec

NOT_SIMULATING = "simulate is only accepted by `intake serve --simulate`"
FASTEST = 100_000.0  # a day in under a second; beyond that the scheduler cannot keep up


@dataclass(frozen=True)
class SimulateOptions:
    """Dialled calls run through the offline simulator; time starts at ``now`` (the real
    time if None) and runs ``speed`` times faster than real time."""

    now: datetime | None = None
    speed: float = 1.0

    def clock(
        self, *, real: Clock = utc_now, monotonic: Callable[[], float] = time.monotonic
    ) -> SimulatedClock:
        return SimulatedClock(self.now or real(), self.speed, monotonic=monotonic)


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


ScriptCheck = Callable[[Any], "str | None"]  # a scripted callee -> why it is invalid, or None


def script_check(spec: FlowSpec | None, region: str) -> ScriptCheck:
    """Checks a call's or contact's ``simulate`` object against its flow at request time
    (``intake serve --simulate``), so a bad script is a 422 or a blocked contact, not a
    failed dial later."""
    from service.scheduler.simulated import SimulatedCalleeError, simulated_callee

    def problem(script: Any) -> str | None:
        try:
            simulated_callee(script, spec=spec, region=region)
        except SimulatedCalleeError as exc:
            return str(exc)
        return None

    return problem
