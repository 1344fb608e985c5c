"""The deliverer: takes due deliveries from the outbox, POSTs them, records what happened.

Up to ``concurrency`` attempts are in flight; a slot that frees is refilled at once, so a
receiver that hangs until the attempt timeout holds one slot, not a whole batch.
2xx is delivered; 410 Gone disables the endpoint; anything else (another status, a
timeout, a refused connection) is retried on the schedule until it is used up, then the
delivery is a dead letter for ``intake deliveries replay``.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, Protocol

import httpx
import structlog

from flows.engine.clock import Clock, utc_now
from service.delivery.guarded import blocked_reason
from service.delivery.recorder import GroupRecorder
from service.delivery.retry import parse_retry_after, retry_delay
from service.delivery.signing import Signer
from service.settings import WebhookSettings
from service.store import (
    DEAD,
    DELIVERED,
    PENDING,
    Attempt,
    DeliveryResult,
    DueDelivery,
    StoreError,
    Verdict,
    VerdictStatus,
)
from service.webhook_targets import masked_url

log = structlog.get_logger("intake.delivery")


class OutboxPort(Protocol):
    async def claim_due(
        self, limit: int, *, lease: timedelta, ids: Collection[int] | None = None
    ) -> list[DueDelivery]: ...

    async def record(self, results: Sequence[DeliveryResult]) -> None: ...


DeliveryOutcome = Literal["delivered", "retrying", "dead"]
_OUTCOMES: dict[VerdictStatus, DeliveryOutcome] = {
    "pending": "retrying",
    "delivered": "delivered",
    "dead": "dead",
}


@dataclass(frozen=True)
class Report:
    """What became of one delivery after an attempt: for the log and the CLI."""

    delivery_id: int
    endpoint_url: str
    outcome: DeliveryOutcome
    status_code: int | None
    error: str | None
    next_attempt_at: datetime | None


class Deliverer:
    def __init__(
        self,
        outbox: OutboxPort,
        client: httpx.AsyncClient,
        settings: WebhookSettings,
        *,
        clock: Clock = utc_now,
        rng: random.Random | None = None,
        signing_clock: Clock = utc_now,
        clock_speed: float = 1.0,
        on_look: Callable[[], None] = lambda: None,
    ) -> None:
        """``clock`` is the store's time: attempts and the retry schedule are on it.
        ``signing_clock`` is real time, always, in production: receivers check
        ``webhook-timestamp`` against theirs. ``clock_speed`` is how many seconds ``clock``
        moves per real second (``intake serve --simulate --speed``): real durations (the
        claim's lease, a receiver's Retry-After) are stretched by it on ``clock``."""
        self._outbox, self._client, self._settings = outbox, client, settings
        self._recorder = GroupRecorder(outbox)
        self._clock, self._rng = clock, rng or random.Random()
        self._signing_clock, self._clock_speed = signing_clock, clock_speed
        self._on_look = on_look  # each time the outbox answered (the health endpoint's sign)
        self._signers = {endpoint.url: Signer(endpoint.secrets) for endpoint in settings.endpoints}
        # An attempt ends within attempt_timeout; the claim lapses well after that, so a
        # delivery is re-sent only if its process died.
        self._lease = timedelta(seconds=2 * settings.attempt_timeout * clock_speed)

    async def run_once(self) -> int:
        """Deliver everything due, retries that fall due meanwhile included; the count."""
        return await self._pump(poll_interval=None, stop=asyncio.Event())

    async def run_forever(self, poll_interval: float, *, stop: asyncio.Event | None = None) -> None:
        """Deliver as things fall due until ``stop`` is set; in-flight attempts then finish."""
        await self._pump(poll_interval, stop or asyncio.Event())

    async def attempt_now(self, ids: Collection[int]) -> list[Report]:
        """One attempt for each of these deliveries that is due (just queued or replayed)."""
        if not ids:
            return []
        claimed = await self._outbox.claim_due(len(ids), lease=self._lease, ids=ids)
        return list(await asyncio.gather(*(self._deliver(d) for d in claimed)))

    async def _pump(self, poll_interval: float | None, stop: asyncio.Event) -> int:
        """Keep the slots full. Without a poll interval, return once nothing is due or
        in flight; with one, look again after it and carry on through store outages."""
        slots = self._settings.concurrency
        in_flight: set[asyncio.Task[Report]] = set()
        attempted = 0
        try:
            while not stop.is_set():
                for task in [task for task in in_flight if task.done()]:
                    in_flight.discard(task)
                    task.result()  # a defect in an attempt stops the loop, loudly
                free = slots - len(in_flight)
                try:
                    claimed = await self._outbox.claim_due(free, lease=self._lease) if free else []
                    self._on_look()
                except StoreError as exc:
                    if poll_interval is None or not exc.retryable:
                        raise
                    log.warning("outbox.unavailable", error=str(exc))
                    claimed = []
                in_flight.update(asyncio.create_task(self._deliver(d)) for d in claimed)
                attempted += len(claimed)
                if free and len(claimed) < free and poll_interval is not None:
                    await pause(stop, poll_interval)  # nothing more is due yet
                elif in_flight:
                    await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
                elif not claimed:
                    break  # run_once: nothing due, nothing in flight
        finally:
            await asyncio.gather(*in_flight)  # stopping: attempts under way finish first
        return attempted

    async def _deliver(self, delivery: DueDelivery) -> Report:
        signer = self._signers.get(delivery.endpoint_url)
        if delivery.endpoint_disabled or signer is None:
            why = "endpoint disabled" if signer else "endpoint no longer configured"
            return await self._settle(delivery, None, Verdict(DEAD, self._clock(), error=why))
        attempt, retry_after = await self._post(delivery, signer)
        if attempt.status_code is not None and 200 <= attempt.status_code < 300:
            verdict = Verdict(DELIVERED, attempt.attempted_at)
        elif attempt.status_code == 410:
            gone = "410 Gone"
            verdict = Verdict(DEAD, attempt.attempted_at, error=gone, disable_endpoint=gone)
        else:
            delay = retry_delay(
                self._settings.schedule,
                delivery.attempts + 1,
                jitter=self._settings.jitter,
                rng=self._rng,
                retry_after=retry_after,
            )
            verdict = (
                Verdict(DEAD, attempt.attempted_at)
                if delay is None
                else Verdict(PENDING, self._clock() + delay)
            )
        return await self._settle(delivery, attempt, verdict)

    async def _post(
        self, delivery: DueDelivery, signer: Signer
    ) -> tuple[Attempt, timedelta | None]:
        """One signed POST, bounded as a whole by the attempt timeout. Never raises."""
        moment, started = self._clock(), time.perf_counter()
        real_moment = self._signing_clock()
        headers = signer.headers(delivery.webhook_id, real_moment, delivery.body)
        status_code: int | None = None
        error: str | None = None
        retry_after: timedelta | None = None
        try:
            async with asyncio.timeout(self._settings.attempt_timeout):
                response = await self._client.post(
                    delivery.endpoint_url, content=delivery.body.encode(), headers=headers
                )
            status_code = response.status_code
            # an HTTP date in Retry-After is the receiver's real time
            retry_after = parse_retry_after(response.headers.get("retry-after"), real_moment)
            if retry_after is not None:
                retry_after *= self._clock_speed
        except TimeoutError:
            error = "timeout"
        except httpx.HTTPError as exc:
            # ConnectError, RemoteProtocolError, ...; or why the target rule refused it
            error = blocked_reason(exc) or exc.__class__.__name__
        duration_ms = round((time.perf_counter() - started) * 1000)
        return Attempt(moment, duration_ms, status_code, error), retry_after

    async def _settle(
        self, delivery: DueDelivery, attempt: Attempt | None, verdict: Verdict
    ) -> Report:
        outcome = _OUTCOMES[verdict.status]
        report = Report(
            delivery_id=delivery.id,
            endpoint_url=delivery.endpoint_url,
            outcome=outcome,
            status_code=attempt.status_code if attempt else None,
            error=verdict.error or (attempt.error if attempt else None),
            next_attempt_at=verdict.next_attempt_at if verdict.status == PENDING else None,
        )
        log.info(
            "delivery.attempted" if attempt else "delivery.abandoned",
            delivery_id=delivery.id,
            webhook_id=delivery.webhook_id,
            call_id=delivery.call_id,
            endpoint=masked_url(delivery.endpoint_url),
            attempt=delivery.attempts + 1,
            outcome=outcome,
            status=report.status_code,
            error=report.error,
            duration_ms=attempt.duration_ms if attempt else None,
        )
        if verdict.disable_endpoint:
            log.warning("endpoint.disabled", endpoint=masked_url(delivery.endpoint_url))
        try:
            await self._recorder.record(DeliveryResult(delivery, attempt, verdict))
        except StoreError as exc:
            # Not recorded: the claim lapses and the delivery is attempted again (same id).
            log.warning("delivery.unrecorded", delivery_id=delivery.id, error=str(exc))
        return report


async def pause(stop: asyncio.Event, seconds: float) -> None:
    """Sleep for ``seconds``, or less if ``stop`` is set meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
