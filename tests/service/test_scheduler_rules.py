"""The scheduler's pure rules: calling windows across zones and DST, pacing, retries."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, available_timezones

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from scheduling_support import within_rate

from flows.engine.outcomes import CALL_STATUSES, CallStatus
from service.scheduler.pacing import dial_spacing, slot_free, take_slot
from service.scheduler.retries import next_dial
from service.scheduler.rules import DAYS, DEFAULT_RETRY, Retry, RetryPolicy, Window
from service.scheduler.window import HORIZON, holds, next_opening
from service.scheduler.zones import valid_zone

ZONES = sorted(zone for zone in available_timezones() if valid_zone(zone))
OUTCOMES = CALL_STATUSES


@st.composite
def windows(draw: st.DrawFn) -> Window:
    start = draw(st.integers(8 * 60, 21 * 60 - 1))
    end = draw(st.integers(start + 1, 21 * 60))
    days = draw(st.lists(st.sampled_from(DAYS), min_size=1, max_size=7, unique=True))
    return Window(start=time(*divmod(start, 60)), end=time(*divmod(end, 60)), days=days)


def _sundays(year: int, month: int) -> list[datetime]:
    first = datetime(year, month, 1, tzinfo=UTC)
    return [
        first + timedelta(days=d) for d in range(31) if (first + timedelta(days=d)).weekday() == 6
    ]


# Most zones with DST change on a Sunday in March, April, September, October or November:
# instants within a week of those Sundays land on either side of real changes.
DST_SUNDAYS = [
    sunday
    for year in range(2000, 2041)
    for month in (3, 4, 9, 10, 11)
    for sunday in _sundays(year, month)
]
instants = st.one_of(
    st.datetimes(
        min_value=datetime(1995, 1, 1), max_value=datetime(2045, 1, 1), timezones=st.just(UTC)
    ),
    st.builds(
        lambda sunday, seconds: sunday + timedelta(seconds=seconds),
        st.sampled_from(DST_SUNDAYS),
        st.integers(-8 * 86400, 8 * 86400),
    ),
)
zone_sets = st.lists(st.sampled_from(ZONES), min_size=1, max_size=3)


def open_everywhere(window: Window, zones: Sequence[str], moment: datetime) -> bool:
    return all(holds(window, zone, moment) for zone in zones)


# --- windows ---------------------------------------------------------------------------


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(windows(), zone_sets, instants, st.lists(st.floats(0, 1), min_size=5, max_size=5))
def test_the_next_opening_is_open_in_every_zone_and_nothing_earlier_is(
    window: Window, zones: list[str], now: datetime, probes: list[float]
) -> None:
    opening = next_opening(window, zones, now)
    if opening is None:
        # spot checks at 1-minute steps find no moment open everywhere within the week
        step = timedelta(minutes=1)
        assert not any(
            open_everywhere(window, zones, now + i * step) for i in range(0, 7 * 24 * 60, 7)
        )
        return
    assert now <= opening < now + HORIZON
    assert open_everywhere(window, zones, opening)
    if open_everywhere(window, zones, now):
        assert opening == now
    for fraction in probes:  # every earlier moment is closed in some zone
        earlier = now + (opening - now) * fraction
        if earlier < opening:
            assert not open_everywhere(window, zones, earlier)
    if opening > now:  # an opening is the start of one: a second before, it was closed
        assert not open_everywhere(window, zones, max(now, opening - timedelta(seconds=1)))


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


@pytest.mark.parametrize(
    ("zones", "now", "expected"),
    [
        # Saturday 20:30 in Los Angeles: closed Sunday, so Monday 09:00 local
        (["America/Los_Angeles"], "2026-03-07T20:30:00-08:00", "2026-03-09T09:00:00-07:00"),
        # New York (UTC-4 in summer) and Honolulu (UTC-10): 19:00-24:00 UTC
        (
            ["America/New_York", "Pacific/Honolulu"],
            "2026-07-06T12:00:00+00:00",
            "2026-07-06T19:00:00+00:00",
        ),
        # New York and Los Angeles on a weekday: 09:00 in LA is 12:00 in NY
        (
            ["America/New_York", "America/Los_Angeles"],
            "2026-07-06T13:00:00+00:00",
            "2026-07-06T09:00:00-07:00",
        ),
        # the spring-forward Sunday is closed; Monday in the new offset
        (["Europe/Berlin"], "2026-03-29T00:30:00+01:00", "2026-03-30T09:00:00+02:00"),
        # Lord Howe moves by 30 minutes: opening on its first DST morning
        (["Australia/Lord_Howe"], "2026-10-03T21:00:00+10:30", "2026-10-05T09:00:00+11:00"),
        # now exactly at the start: open (start included)
        (["Europe/London"], "2026-07-06T09:00:00+01:00", "2026-07-06T09:00:00+01:00"),
        # now exactly at the end: closed (end excluded), next morning
        (["Europe/London"], "2026-07-06T20:00:00+01:00", "2026-07-07T09:00:00+01:00"),
    ],
)
def test_openings_by_example(zones: list[str], now: str, expected: str | None) -> None:
    opening = next_opening(Window(), zones, utc(now))
    assert opening == (None if expected is None else utc(expected))


def test_dst_days_open_at_local_start_in_that_days_offset() -> None:
    every_day = Window(days=list(DAYS))
    new_york = ["America/New_York"]
    fall_back = next_opening(every_day, new_york, utc("2026-11-01T00:30:00-04:00"))
    assert fall_back == utc("2026-11-01T14:00:00+00:00")  # 09:00 EST, after 01:00 came twice
    spring = next_opening(every_day, new_york, utc("2026-03-08T00:30:00-05:00"))
    assert spring == utc("2026-03-08T13:00:00+00:00")  # 09:00 EDT, after 02:00 never came


def test_zones_a_day_apart_may_never_share_an_open_monday() -> None:
    # Kiritimati (UTC+14) and Pago Pago (UTC-11): their Mondays do not overlap at all
    mondays = Window(days=["mon"])
    zones = ["Pacific/Kiritimati", "Pacific/Pago_Pago"]
    assert next_opening(mondays, zones, utc("2026-07-06T00:00:00+00:00")) is None
    assert next_opening(mondays, [], utc("2026-07-06T00:00:00+00:00")) is None


def test_ten_thousand_calls_in_a_pass_are_cheap() -> None:
    # the scheduler asks once per call; zones repeat, so the offsets are cached per pass
    import time as clock

    now = utc("2026-07-05T03:00:00+00:00")  # a Sunday: closed, so every call looks ahead
    zones = [["America/New_York"], ["America/Chicago", "America/Denver"], ["Europe/Paris"]]
    started = clock.perf_counter()
    for i in range(10_000):
        assert next_opening(Window(), zones[i % 3], now) is not None
    assert clock.perf_counter() - started < 5.0


# --- pacing ----------------------------------------------------------------------------

rates = st.floats(min_value=0.1, max_value=25, allow_nan=False).map(lambda r: round(r, 2))


@settings(max_examples=300, deadline=None)
@given(
    trunk_rate=rates,
    campaign_rates=st.lists(rates, min_size=1, max_size=3),
    claims=st.lists(
        st.tuples(st.integers(0, 1_500_000), st.integers(-1, 2)), min_size=1, max_size=400
    ),
)
def test_a_stream_of_claims_never_exceeds_any_rate_in_any_second(
    trunk_rate: float, campaign_rates: list[float], claims: list[tuple[int, int]]
) -> None:
    # claims come at random moments (microsecond steps from the last), for a single call
    # (-1) or a campaign; a claim goes out only when the trunk's and its campaign's slots
    # are free, as in the store
    now = datetime(2026, 7, 6, 16, 0, tzinfo=UTC)
    trunk_next: datetime | None = None
    campaign_next: dict[int, datetime | None] = {}
    trunk_dials: list[datetime] = []
    campaign_dials: dict[int, list[datetime]] = {}
    for step, who in claims:
        now += timedelta(microseconds=step)
        campaign = who % len(campaign_rates) if who >= 0 else None
        if not slot_free(trunk_next, now):
            continue
        if campaign is not None:
            if not slot_free(campaign_next.get(campaign), now):
                continue
            campaign_next[campaign] = take_slot(
                campaign_next.get(campaign), now, campaign_rates[campaign]
            )
            campaign_dials.setdefault(campaign, []).append(now)
        trunk_next = take_slot(trunk_next, now, trunk_rate)
        trunk_dials.append(now)
    assert within_rate(trunk_dials, trunk_rate)
    for campaign, dials in campaign_dials.items():
        assert within_rate(dials, campaign_rates[campaign])


@pytest.mark.parametrize(("rate", "per_minute"), [(1, 60), (2.5, 120), (3, 180), (0.5, 30)])
def test_a_busy_trunk_dials_as_fast_as_its_rate_allows(rate: float, per_minute: int) -> None:
    now, next_at, dials = datetime(2026, 7, 6, tzinfo=UTC), None, []
    for _ in range(60_000):  # a claim every millisecond for a minute
        if slot_free(next_at, now):
            next_at = take_slot(next_at, now, rate)
            dials.append(now)
        now += timedelta(milliseconds=1)
    assert per_minute - 1 <= len(dials) <= per_minute
    assert within_rate(dials, rate)


def test_spacing_is_rounded_up_and_rates_must_be_positive() -> None:
    assert dial_spacing(3) == timedelta(microseconds=333_334)
    assert dial_spacing(2.5) == timedelta(seconds=0.5)
    assert dial_spacing(0.3) == timedelta(microseconds=3_333_334)
    with pytest.raises(ValueError, match="positive"):
        dial_spacing(0)
    with pytest.raises(ValueError, match="not free"):
        take_slot(datetime(2026, 1, 1, 0, 0, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC), 1)


# --- retries ---------------------------------------------------------------------------

rules = st.builds(Retry, attempts=st.integers(1, 10), after=st.integers(60, 7 * 86400).map(float))
policies = st.builds(RetryPolicy, busy=rules, no_answer=rules, voicemail=rules, failed=rules)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    policy=policies,
    window=windows(),
    zone=st.sampled_from(ZONES),
    start=instants,
    outcome=st.sampled_from(OUTCOMES),
    retryable=st.sampled_from([True, False, None]),
    durations=st.lists(st.integers(0, 3600), min_size=10, max_size=10),
)
def test_a_call_is_dialled_exactly_as_its_outcomes_rule_says(
    policy: RetryPolicy,
    window: Window,
    zone: str,
    start: datetime,
    outcome: CallStatus,
    retryable: bool | None,
    durations: list[int],
) -> None:
    zones = [zone]
    dial_at = next_opening(window, zones, start)
    assume(dial_at is not None)
    assert dial_at is not None
    dials = 0
    while True:
        assert open_everywhere(window, zones, dial_at)  # never dialled outside the window
        dials += 1
        ended_at = dial_at + timedelta(seconds=durations[dials - 1])
        again = next_dial(
            policy,
            window,
            zones,
            outcome=outcome,
            retryable=retryable,
            dials=dials,
            ended_at=ended_at,
        )
        if again is None:
            break
        rule = policy.rule(outcome)
        assert rule is not None
        assert again - ended_at >= timedelta(seconds=rule.after)
        dial_at = again
    rule = policy.rule(outcome)
    retried = rule is not None and (outcome != "failed" or retryable is True)
    expected = rule.attempts if rule is not None and retried else 1
    if dials < expected and rule is not None:  # only if the window never opens again
        later = ended_at + timedelta(seconds=rule.after)
        assert next_opening(window, zones, later) is None
    else:
        assert dials == expected


def test_the_default_policy_by_outcome() -> None:
    zones, window = ["America/New_York"], Window()
    monday_noon = utc("2026-07-06T12:00:00-04:00")

    def again(
        outcome: CallStatus, dials: int = 1, retryable: bool | None = True
    ) -> datetime | None:
        return next_dial(
            DEFAULT_RETRY,
            window,
            zones,
            outcome=outcome,
            retryable=retryable,
            dials=dials,
            ended_at=monday_noon,
        )

    assert again("busy") == monday_noon + timedelta(seconds=600)
    assert again("busy", dials=3) is None
    assert again("no_answer", dials=2) == monday_noon + timedelta(hours=2)
    assert again("voicemail") == monday_noon + timedelta(days=1)
    assert again("failed") == monday_noon + timedelta(seconds=900)
    assert again("failed", retryable=False) is None
    assert again("failed", retryable=None) is None
    for never in ("completed", "incomplete", "declined", "transferred"):
        assert again(never) is None
    # 19:58 local + 10 minutes is past 20:00: the next morning at 09:00
    late = utc("2026-07-06T19:58:00-04:00")
    assert next_dial(
        DEFAULT_RETRY, window, zones, outcome="busy", retryable=True, dials=1, ended_at=late
    ) == utc("2026-07-07T09:00:00-04:00")


def test_zone_offsets_used_by_the_examples_are_what_they_claim() -> None:
    # guards the examples above against a tzdata that changed these zones' rules
    assert ZoneInfo("Australia/Lord_Howe").utcoffset(datetime(2026, 10, 5, 9)) == timedelta(
        hours=11
    )
    honolulu = ZoneInfo("Pacific/Honolulu").utcoffset(datetime(2026, 7, 6))
    assert honolulu is not None and math.isclose(honolulu.total_seconds(), -36000)
