"""What ``intake serve`` runs beside the API: the scheduler with its dispatcher (LiveKit's, or
the offline simulator's under ``--simulate``), and under ``--simulate`` the webhook deliverer
too, so that one process is the whole demo.

The scheduler's modules (livekit-api, the flow engine that builds the payload of a call no
worker took) are imported in a thread once the API listens, so they do not delay its first
answer; the scheduler follows a moment later. What can be checked without them (LiveKit's
credentials) is checked before anything starts.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Awaitable, Callable

import structlog

from service.scheduler.clock import SimulatedClock
from service.scheduler.dispatch import DISPATCHING
from service.settings import Settings
from service.store import CallStore

Background = Callable[[asyncio.Event], Awaitable[None]]
SCHEDULER_MODULES = ("service.scheduler.loop", "service.scheduler.livekit")
SIMULATOR_MODULES = (
    "service.scheduler.loop",
    "service.scheduler.simulated",
    "service.delivery.process",
)

log = structlog.get_logger("intake.scheduler")


def check_dispatching(settings: Settings, *, simulated: bool) -> None:
    """ConfigError, before anything starts, when calls go to LiveKit and its credentials
    are missing."""
    if not simulated:
        settings.livekit.credentials(DISPATCHING)


def serve_work(
    settings: Settings,
    store: CallStore,
    *,
    simulated: SimulatedClock | None,
    listening: asyncio.Event,
) -> Background:
    """The scheduler (and under --simulate the deliverer) as background work, starting once
    ``listening`` is set (``check_dispatching`` has been called before)."""
    if simulated is None:
        return lambda stop: _schedule(settings, store, stop, listening)
    return lambda stop: _simulate(settings, store, simulated, stop, listening)


async def _imported(names: tuple[str, ...], listening: asyncio.Event) -> None:
    """The modules, imported in a thread once the API listens: before, the import would
    hold the interpreter while the server starts."""
    await listening.wait()
    await asyncio.to_thread(lambda: [importlib.import_module(name) for name in names])


async def _schedule(
    settings: Settings, store: CallStore, stop: asyncio.Event, listening: asyncio.Event
) -> None:
    await _imported(SCHEDULER_MODULES, listening)
    from service.scheduler.livekit import LiveKitDispatcher
    from service.scheduler.loop import Scheduler
    from service.settings import flow_catalog

    livekit = LiveKitDispatcher.from_settings(settings.livekit)
    try:
        scheduler = Scheduler.from_settings(settings, store, livekit, flow_catalog(settings))
        await scheduler.run(stop)
    finally:
        await livekit.aclose()


async def _simulate(
    settings: Settings,
    store: CallStore,
    clock: SimulatedClock,
    stop: asyncio.Event,
    listening: asyncio.Event,
) -> None:
    await _imported(SIMULATOR_MODULES, listening)
    from service.delivery.process import run_deliveries
    from service.scheduler.loop import Scheduler
    from service.scheduler.simulated import SimulatedDispatcher
    from service.settings import flow_catalog

    catalog = flow_catalog(settings)
    simulator = SimulatedDispatcher(
        store,
        catalog,
        region=settings.default_region,
        transfer_to=settings.transfer_to,
        clock=clock,
        heartbeat_interval=settings.webhooks.heartbeat_interval,
    )
    scheduler = Scheduler.from_settings(
        settings, store, simulator, catalog, clock=clock, speed=clock.speed
    )
    deliveries = run_deliveries(settings, store, stop, clock=clock, clock_speed=clock.speed)
    try:
        await asyncio.gather(scheduler.run(stop), deliveries)
    finally:
        await simulator.aclose()
