"""Catching the store up with what calls could not write to it while it was down.

Job processes never migrate and never wait for the database; the long-lived processes
do the rest. The worker's main process, at start and then every
INTAKE_WEBHOOKS__SWEEP_INTERVAL, migrates the store (until that succeeds once) and
imports the spool its calls wrote, so a database that comes back is caught up without
a restart. ``intake deliver`` imports its machine's spool the same way before each
sweep for orphans (``service.delivery.process``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import structlog

from service.delivery.dispatcher import pause
from service.store import CallStore, StoreUnavailableError
from service.store.spool import Spool, SpoolImport, import_spool

log = structlog.get_logger("intake.catch_up")


class CatchUp:
    """One store and one spool: migrate once, then import whenever asked."""

    def __init__(self, store: CallStore, spool: Spool, *, migrated: bool = False) -> None:
        self._store, self._spool, self._migrated = store, spool, migrated

    async def once(self) -> SpoolImport | None:
        """Import the spool; None if the store could not be migrated (yet)."""
        if not self._migrated:
            try:
                await self._store.migrate()
            except StoreUnavailableError as exc:  # calls still run: they spool
                log.warning("store.migrate_failed", error=str(exc))
                return None
            self._migrated = True
            log.info("store.migrated")
        return await import_spool(self._spool, self._store)


@contextlib.asynccontextmanager
async def caught_up(store: CallStore, spool: Spool, *, interval: float) -> AsyncIterator[None]:
    """A first round now (start-up waits for it), one every ``interval`` seconds, and a
    last one when the block ends (for calls that ended during a drain: the spool may not
    outlive the worker, say on a Kubernetes emptyDir); then the store's connections close."""
    catch_up = CatchUp(store, spool)
    stop = asyncio.Event()

    async def round_() -> None:
        try:
            await catch_up.once()
        except Exception as exc:  # the next round tries again; calls are not affected
            log.error("catch_up.failed", error=exc.__class__.__name__)

    async def rounds() -> None:
        while not stop.is_set():
            await pause(stop, interval)
            if not stop.is_set():
                await round_()

    try:
        await round_()
        running = asyncio.create_task(rounds(), name="catch-up")
        try:
            yield
        finally:
            stop.set()
            await running
        await round_()
    finally:
        await store.close()
