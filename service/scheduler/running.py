"""What ``intake serve`` runs beside the API: the scheduler with its dispatcher (LiveKit's, or
the offline simulator's under ``--simulate``), and under ``--simulate`` the webhook deliverer
too, so that one process is the whole demo."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from service.scheduler.clock import SimulatedClock
from service.scheduler.loop import Scheduler
from service.settings import Settings, flow_catalog
from service.store import CallStore

Background = Callable[[asyncio.Event], Awaitable[None]]


@dataclass(frozen=True)
class ServeWork:
    background: list[Background]  # each runs until the event it is given is set
    aclose: Callable[[], Awaitable[None]]  # after they have stopped


async def serve_work(
    settings: Settings, store: CallStore, *, simulated: SimulatedClock | None
) -> ServeWork:
    """The scheduler and what it needs; ConfigError when LiveKit is not configured and the
    calls are not simulated. Call in the serving event loop."""
    catalog = flow_catalog(settings)
    if simulated is None:
        from service.scheduler.livekit import LiveKitDispatcher

        livekit = LiveKitDispatcher.from_settings(settings.livekit)
        scheduler = Scheduler.from_settings(settings, store, livekit, catalog)
        return ServeWork([scheduler.run], livekit.aclose)
    from service.delivery.process import run_deliveries
    from service.scheduler.simulated import SimulatedDispatcher

    simulator = SimulatedDispatcher(
        store,
        catalog,
        region=settings.default_region,
        transfer_to=settings.transfer_to,
        clock=simulated,
        heartbeat_interval=settings.webhooks.heartbeat_interval,
    )
    scheduler = Scheduler.from_settings(
        settings, store, simulator, catalog, clock=simulated, speed=simulated.speed
    )
    deliveries = functools.partial(
        run_deliveries, settings, store, clock=simulated, clock_speed=simulated.speed
    )
    return ServeWork([scheduler.run, deliveries], simulator.aclose)
