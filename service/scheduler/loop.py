"""The scheduler of ``intake serve``: due calls out to the dispatcher, results settled.

Each pass claims (the checks at dial time, and the pacing slots of the next moments) and
hands each claimed dial to the ``Dispatcher`` at its slot; every ``poll_interval`` it also
settles what the workers reported, gives up dials no worker took (withdrawing them),
finalises calls whose worker died (the orphan sweep) and marks finished campaigns done.
While calls wait for pacing, the next pass comes as the next slots come near, so a trunk
dials at its rate whatever the poll interval. The store being down is logged and the
next pass tries again; no log line holds caller data.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Awaitable
from datetime import timedelta
from typing import TypeVar

import structlog

from flows.engine.clock import Clock, utc_now
from flows.spec.catalog import FlowCatalog
from service.scheduler.dispatch import Dispatch, Dispatcher, DispatchError
from service.scheduler.payloads import UnconnectedPayloads
from service.settings import Settings
from service.store.calls import CallStore
from service.store.errors import StoreError
from service.store.requested import Settled, UnconnectedPayload
from service.store.scheduling import ClaimResult, SchedulingStore
from service.store.settling import SettlingStore
from service.store.slots import Claimed

log = structlog.get_logger("intake.scheduler")

DEFAULT_TRUNK = "default"  # the pacing row when no outbound trunk is configured (--simulate)
BUSY_WAIT = 0.05  # seconds before trying again while another replica holds the trunk
# A claim takes the pacing slots of the next poll interval, at most this many seconds:
# a fast trunk is kept busy between passes, and a call is never marked dialing long
# before it is dispatched.
MAX_HORIZON = 1.0
T = TypeVar("T")


class Scheduler:
    def __init__(
        self,
        store: CallStore,
        dispatcher: Dispatcher,
        unconnected: UnconnectedPayload,
        *,
        clock: Clock = utc_now,
        poll_interval: float = 0.5,
        dispatch_timeout: float = 120.0,
        orphan_after: float = 60.0,
        trunk: str = DEFAULT_TRUNK,
        trunk_calls_per_second: float = 1.0,
        speed: float = 1.0,
    ) -> None:
        """``speed``: how many clock seconds pass per real second (``--speed``), so waits
        for a pacing slot measured on the clock become the right real waits."""
        self._store, self._dispatcher, self._clock = store, dispatcher, clock
        self._poll, self._speed = poll_interval, speed
        self._orphan_after = timedelta(seconds=orphan_after)
        self._horizon = timedelta(seconds=min(poll_interval, MAX_HORIZON) * speed)
        self.claims = SchedulingStore(
            store,
            clock,
            trunk=trunk,
            trunk_calls_per_second=trunk_calls_per_second,
            horizon=self._horizon,
        )
        self.settling = SettlingStore(
            store, clock, unconnected, dispatch_timeout=timedelta(seconds=dispatch_timeout)
        )

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        store: CallStore,
        dispatcher: Dispatcher,
        catalog: FlowCatalog,
        *,
        clock: Clock = utc_now,
        speed: float = 1.0,
    ) -> Scheduler:
        return cls(
            store,
            dispatcher,
            UnconnectedPayloads(catalog, region=settings.default_region),
            clock=clock,
            poll_interval=settings.api.poll_interval,
            # Both guard against a worker that is gone, whose heartbeats come real seconds
            # apart: on a simulated clock running ``speed`` times faster they stretch with it.
            dispatch_timeout=settings.api.dispatch_timeout * speed,
            orphan_after=settings.webhooks.orphan_after * speed,
            trunk=settings.livekit.sip_outbound_trunk or DEFAULT_TRUNK,
            trunk_calls_per_second=settings.api.trunk_calls_per_second,
            speed=speed,
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Pass after pass until ``stop`` is set; the housekeeping every poll interval."""
        loop = asyncio.get_running_loop()
        last_housekeeping = -math.inf
        log.info("scheduler.started", poll_interval=self._poll)
        while not stop.is_set():
            housekeeping = loop.time() - last_housekeeping >= self._poll
            if housekeeping:
                last_housekeeping = loop.time()
            wait = await self.run_once(housekeeping=housekeeping)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), wait)
        log.info("scheduler.stopped")

    async def run_once(self, *, housekeeping: bool = True) -> float:
        """One pass; returns the seconds to wait before the next."""
        claim = await self._guarded("claim", self.claims.claim_due())
        if claim is not None:
            await asyncio.gather(*(self._dispatch_at(claimed) for claimed in claim.claimed))
            if claim.blocked or claim.deferred:
                log.info("scheduler.checked", blocked=claim.blocked, deferred=claim.deferred)
        if housekeeping:  # orphans first: the settling then sees them finished
            orphans = await self._guarded(
                "sweep", self._store.sweep_orphans(stale_after=self._orphan_after)
            )
            for call_id in orphans or []:
                log.warning("call.orphan_finalised", call_id=call_id)
            await self._settle()
            for campaign_id in (
                await self._guarded("campaigns", self.settling.finish_campaigns()) or []
            ):
                log.info("campaign.done", campaign_id=campaign_id)
        return self._wait(claim)

    def _wait(self, claim: ClaimResult | None) -> float:
        """Calls held back by pacing: until their slot comes within the horizon. Else
        at once if the claim changed anything (more may be due), or a poll interval."""
        if claim is None:
            return self._poll
        if claim.held_back and claim.next_slot is None:  # another replica holds the trunk
            return min(self._poll, BUSY_WAIT)
        if claim.held_back and claim.next_slot is not None:
            until = claim.next_slot - self._horizon - self._clock()
            return min(self._poll, max(0.0, until.total_seconds() / self._speed))
        return 0.0 if claim.progressed else self._poll

    async def _dispatch_at(self, claimed: Claimed) -> None:
        """Dispatch at the call's pacing slot (on the clock, at its speed)."""
        delay = (claimed.at - self._clock()).total_seconds() / self._speed
        if delay > 0:
            await asyncio.sleep(delay)
        await self._dispatch(claimed.job)

    async def _dispatch(self, job: Dispatch) -> None:
        try:
            await self._dispatcher.dispatch(job)
        except DispatchError as exc:
            error = exc
        except Exception as exc:  # a broken dispatcher must not stop the scheduler
            log.error("call.dispatcher_error", call_id=job.call_id, error=exc.__class__.__name__)
            error = DispatchError("the dispatcher failed unexpectedly", retryable=True)
        else:
            log.info("call.dispatched", call_id=job.call_id, attempt=job.attempt)
            return
        log.warning(
            "call.dispatch_failed",
            call_id=job.call_id,
            attempt=job.attempt,
            retryable=error.retryable,
            error=str(error),
        )
        if error.retryable:  # it may have gone through after all: make sure it did not
            await self._withdraw(job)
        settled = await self._guarded("dispatch_failed", self.settling.dispatch_failed(job, error))
        if settled is not None:
            _log_settled(settled)

    async def _settle(self) -> None:
        report = await self._guarded("settle", self.settling.settle())
        if report is None:
            return
        for job in report.timed_out:
            log.warning("call.dispatch_timeout", call_id=job.call_id, attempt=job.attempt)
            await self._withdraw(job)
        for settled in report.settled:
            _log_settled(settled)
        if report.answered:
            log.info("scheduler.answered", calls=report.answered)

    async def _withdraw(self, job: Dispatch) -> None:
        try:
            await self._dispatcher.withdraw(job)
        except Exception as exc:  # best effort, by contract
            log.warning("call.withdraw_failed", call_id=job.call_id, error=exc.__class__.__name__)

    async def _guarded(self, phase: str, step: Awaitable[T]) -> T | None:
        """The step's result, or None when it failed: logged (the class of a driver's error
        only, since its message may quote caller data), and the next pass tries again."""
        try:
            return await step
        except StoreError as exc:
            log.warning("scheduler.store_failed", phase=phase, error=str(exc))
        except Exception as exc:
            log.error("scheduler.failed", phase=phase, error=exc.__class__.__name__)
        return None


def _log_settled(settled: Settled) -> None:
    log.info(
        "call.settled",
        call_id=settled.call_id,
        attempt=settled.attempt,
        outcome=settled.outcome,
        retry_at=settled.retry_at,
    )
