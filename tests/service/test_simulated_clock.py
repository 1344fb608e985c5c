"""The clock of ``intake serve --simulate``: a start, a speed, and sleeps in its own time."""

from __future__ import annotations

import asyncio
import math
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest

from service.errors import ServiceError
from service.scheduler.clock import SimulatedClock

START = datetime(2026, 3, 2, 8, 59, 30, tzinfo=UTC)


class Ticks:
    """A monotonic source the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_it_reads_start_plus_elapsed_time_times_speed() -> None:
    ticks = Ticks()
    clock = SimulatedClock(START, 60, monotonic=ticks)
    assert clock() == START
    ticks.now += 0.5  # half a real second at 60x: half a minute later, 09:00 sharp
    assert clock() == datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    ticks.now += 60
    assert clock() == datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    assert clock().tzinfo is UTC


def test_a_start_in_another_zone_reads_in_utc() -> None:
    paris = timezone(timedelta(hours=1))
    clock = SimulatedClock(datetime(2026, 3, 2, 10, 0, tzinfo=paris), monotonic=Ticks())
    assert clock() == datetime(2026, 3, 2, 9, 0, tzinfo=UTC) and clock().tzinfo is UTC


@pytest.mark.parametrize("speed", [0, -1, math.nan])
def test_a_speed_must_be_positive(speed: float) -> None:
    with pytest.raises(ServiceError, match="speed must be greater than 0"):
        SimulatedClock(START, speed)


def test_a_naive_start_is_refused() -> None:
    with pytest.raises(ServiceError, match="time zone"):
        SimulatedClock(datetime(2026, 3, 2, 9, 0), 1)


async def test_sleep_waits_its_own_time_not_real_time() -> None:
    clock = SimulatedClock(START, 1000)
    began = time.monotonic()
    await clock.sleep(100)  # 100 s of simulated time: 0.1 s real
    real = time.monotonic() - began
    assert 0.09 <= real < 1.0
    assert clock() - START >= timedelta(seconds=100)


async def test_sleep_until_a_moment_and_not_at_all_for_the_past() -> None:
    clock = SimulatedClock(START, 3600)
    await asyncio.wait_for(clock.sleep_until(START + timedelta(minutes=2)), 1)
    assert clock() >= START + timedelta(minutes=2)
    began = time.monotonic()
    await clock.sleep_until(START)  # past
    assert time.monotonic() - began < 0.05
    assert clock.real_seconds(-5) == 0.0
