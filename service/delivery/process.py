"""``intake deliver`` (the deliverer and the orphan sweeper, until SIGTERM or SIGINT), the
deliverer inside another process's loop (``intake serve --simulate``), and the single
attempts that ``simulate --deliver`` and ``deliveries replay`` make at once."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Collection
from datetime import timedelta

import httpx
import structlog

from flows.engine.clock import Clock, utc_now
from service.delivery.dispatcher import Deliverer, Report, pause
from service.delivery.guarded import (
    GuardedTransport,
    Resolver,
    check_endpoint_hosts,
    system_resolver,
)
from service.delivery.health import Liveness, serve_health
from service.settings import Settings, WebhookSettings
from service.store import CallStore, StoreError
from service.store.spool import Spool, import_spool

log = structlog.get_logger("intake.delivery")

OPEN_RETRY_MAX = 30.0  # seconds between attempts to open a store that is not ready


def http_client(
    webhooks: WebhookSettings, resolver: Resolver = system_resolver
) -> httpx.AsyncClient:
    """Redirects are not followed: a signed body goes only where it was configured to go;
    each connection is checked against the target rule (``service.delivery.guarded``)."""
    limits = httpx.Limits(
        max_connections=webhooks.concurrency, max_keepalive_connections=webhooks.concurrency
    )
    return httpx.AsyncClient(
        timeout=webhooks.attempt_timeout,
        transport=GuardedTransport(limits, allow_private=webhooks.allow_private, resolver=resolver),
        follow_redirects=False,
        trust_env=False,
    )


async def sweep_forever(
    store: CallStore,
    spool: Spool,
    *,
    stale_after: timedelta,
    interval: float,
    stop: asyncio.Event,
) -> None:
    """Import the spool, then finalise orphaned calls: nothing else saves the data of a
    worker that died. The spool goes first, so a call's real payload, if it is there,
    is stored before the sweeper would finalise the call from its snapshot."""
    while not stop.is_set():
        await import_spool(spool, store)
        try:
            for call_id in await store.sweep_orphans(stale_after=stale_after):
                log.warning("call.orphan_finalised", call_id=call_id)
        except StoreError as exc:
            if not exc.retryable:
                raise
            log.warning("sweeper.unavailable", error=str(exc))
        await pause(stop, interval)


async def serve(
    database_url: str, webhooks: WebhookSettings, spool: Spool, stop: asyncio.Event
) -> None:
    """Deliver and sweep until ``stop`` is set; attempts in flight then finish. The store
    is migrated and the spool imported before the first delivery; an endpoint whose name
    resolves to an address the target rule forbids stops it first (ConfigError)."""
    await check_endpoint_hosts(webhooks.endpoints, allow_private=webhooks.allow_private)
    store = await open_when_ready(database_url, webhooks, stop)
    if store is None:
        return  # stopped while waiting
    try:
        await import_spool(spool, store)
        async with http_client(webhooks) as client, asyncio.TaskGroup() as tasks:
            liveness = Liveness(_look_allowance(webhooks))
            deliverer = Deliverer(store.outbox, client, webhooks, on_look=liveness.looked)
            if webhooks.health_port is not None:
                tasks.create_task(serve_health(liveness, webhooks.health_port, stop))
            tasks.create_task(
                sweep_forever(
                    store,
                    spool,
                    stale_after=timedelta(seconds=webhooks.orphan_after),
                    interval=webhooks.sweep_interval,
                    stop=stop,
                )
            )
            tasks.create_task(deliverer.run_forever(webhooks.poll_interval, stop=stop))
            log.info("deliverer.started", endpoints=len(webhooks.endpoints))
    finally:
        await store.close()
    log.info("deliverer.stopped")


def _look_allowance(webhooks: WebhookSettings) -> float:
    # With every slot busy the loop looks again when an attempt ends, within its timeout;
    # an idle loop looks every poll interval. Twice either, and a margin, is a stall.
    return 2 * max(webhooks.attempt_timeout, webhooks.poll_interval) + 5


async def open_when_ready(
    database_url: str, webhooks: WebhookSettings, stop: asyncio.Event
) -> CallStore | None:
    """The store, once it can be opened: a database that is locked, still starting or
    unreachable is waited for (1 s, 2 s, ... 30 s apart); one that is read-only, full or
    corrupt stops the deliverer (StoreUnusableError). None if ``stop`` is set first."""
    delay = 1.0
    while not stop.is_set():
        try:
            return await CallStore.open(database_url, endpoints=webhooks.endpoints)
        except StoreError as exc:
            if not exc.retryable:
                raise
            log.warning("store.unavailable", error=str(exc), retry_in=delay)
        await pause(stop, delay)
        delay = min(delay * 2, OPEN_RETRY_MAX)
    return None


async def run_deliveries(
    settings: Settings,
    store: CallStore,
    stop: asyncio.Event,
    *,
    clock: Clock = utc_now,
    clock_speed: float = 1.0,
) -> None:
    """Deliver the store's webhooks in the running loop until ``stop`` is set; attempts in
    flight then finish. For ``intake serve --simulate``, which is the whole demo in one
    process: ``store`` is the serving process's own (opened and migrated by it, on
    ``clock``, the simulated clock running ``clock_speed`` times real time). Retries follow
    ``clock``; signatures (``webhook-timestamp``) stay on real time so receivers verify them.

    No orphan sweep and no spool import: the simulated calls run in this process, write no
    spool, and their heartbeats are real seconds apart, which a fast clock would take for
    silence. ``intake deliver`` next to a real worker does both."""
    webhooks = settings.webhooks
    async with http_client(webhooks) as client:
        deliverer = Deliverer(store.outbox, client, webhooks, clock=clock, clock_speed=clock_speed)
        log.info("deliverer.started", endpoints=len(webhooks.endpoints), in_process=True)
        await deliverer.run_forever(webhooks.poll_interval, stop=stop)
    log.info("deliverer.stopped", in_process=True)


async def serve_until_signalled(database_url: str, webhooks: WebhookSettings, spool: Spool) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await serve(database_url, webhooks, spool, stop)


async def attempt_now(
    store: CallStore, webhooks: WebhookSettings, ids: Collection[int]
) -> list[Report]:
    """One attempt each, now; retries after that belong to ``intake deliver``."""
    async with http_client(webhooks) as client:
        return await Deliverer(store.outbox, client, webhooks).attempt_now(ids)
