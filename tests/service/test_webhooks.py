"""Standard Webhooks signatures, checked with the spec's reference library, and the retry
schedule with its jitter and Retry-After."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from service.delivery import Signer
from service.delivery.retry import parse_retry_after, retry_delay
from service.settings import DEFAULT_SCHEDULE

OLD = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
NEW = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"
BODY = '{"type":"call.ended","call_id":"call_01J","results":{"patient":{"full_name":"Zoë"}}}'


def signed(*secrets: str, moment: datetime | None = None) -> dict[str, str]:
    signer = Signer([SecretStr(secret) for secret in secrets])
    return signer.headers("msg_01J", moment or datetime.now(UTC), BODY)


def test_a_signature_verifies_with_the_reference_library() -> None:
    headers = signed(OLD)
    assert Webhook(OLD).verify(BODY, headers)["call_id"] == "call_01J"
    assert headers["webhook-signature"].startswith("v1,")
    assert headers["content-type"] == "application/json"


@pytest.mark.parametrize(
    ("body", "change"),
    [
        (BODY.replace("Zoë", "Zoe"), {}),
        (BODY, {"webhook-id": "msg_other"}),
        (BODY, {"webhook-timestamp": "one second earlier"}),
    ],
    ids=["body", "id", "timestamp"],
)
def test_tampering_is_detected(body: str, change: dict[str, str]) -> None:
    headers = {**signed(OLD), **change}
    if "webhook-timestamp" in change:  # taken now: at collection it may be minutes stale
        headers["webhook-timestamp"] = str(int(datetime.now(UTC).timestamp()) - 1)
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        Webhook(OLD).verify(body, headers)


def test_a_stale_or_future_timestamp_is_refused() -> None:
    stale = signed(OLD, moment=datetime.now(UTC) - timedelta(minutes=10))
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(OLD).verify(BODY, stale)
    future = signed(OLD, moment=datetime.now(UTC) + timedelta(minutes=10))
    with pytest.raises(WebhookVerificationError, match="too new"):
        Webhook(OLD).verify(BODY, future)


def test_rotation_signs_with_every_secret_so_either_verifies() -> None:
    headers = signed(OLD, NEW)
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (OLD, NEW):
        Webhook(secret).verify(BODY, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "A" * 32).verify(BODY, headers)


def test_the_schedule_with_jitter_then_none() -> None:
    rng = random.Random(1)
    delays = [retry_delay(DEFAULT_SCHEDULE, n, jitter=0.2, rng=rng) for n in range(1, 11)]
    assert delays[-1] is None  # ten attempts in all
    factors = set()
    for delay, planned in zip(delays[:-1], DEFAULT_SCHEDULE[1:], strict=True):
        assert delay is not None
        factors.add(delay.total_seconds() / planned)
    assert all(0.8 <= factor <= 1.2 for factor in factors) and len(factors) > 1


def test_retry_after_lengthens_the_wait_up_to_the_longest_step() -> None:
    rng, schedule = random.Random(1), [0.0, 5, 60]
    wait = retry_delay(schedule, 1, jitter=0, rng=rng, retry_after=timedelta(seconds=30))
    assert wait == timedelta(seconds=30)
    wait = retry_delay(schedule, 1, jitter=0, rng=rng, retry_after=timedelta(seconds=1))
    assert wait == timedelta(seconds=5)
    wait = retry_delay(schedule, 1, jitter=0, rng=rng, retry_after=timedelta(days=9))
    assert wait == timedelta(seconds=60)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", timedelta(seconds=120)),
        ("Fri, 27 Nov 2026 12:01:00 GMT", timedelta(seconds=60)),
        ("Fri, 27 Nov 2026 11:00:00 GMT", timedelta(0)),
        ("soon", None),
        (None, None),
    ],
)
def test_retry_after_as_seconds_or_http_date(value: str | None, expected: timedelta | None) -> None:
    now = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    assert parse_retry_after(value, now) == expected
