"""Group commit for attempt results: one transaction (one fsync) for all that end together.

Results that arrive while a write is under way wait for the next one, so the batch size
follows the load by itself: one at a time when idle, dozens under a backlog.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol

from service.store import DeliveryResult


class ResultSink(Protocol):
    async def record(self, results: Sequence[DeliveryResult]) -> None: ...


class GroupRecorder:
    def __init__(self, sink: ResultSink) -> None:
        self._sink = sink
        self._waiting: list[tuple[DeliveryResult, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def record(self, result: DeliveryResult) -> None:
        """Returns once ``result`` is committed; raises what the write raised."""
        done = asyncio.get_running_loop().create_future()
        self._waiting.append((result, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write())
        await done

    async def _write(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                await self._sink.record([result for result, _ in batch])
            except Exception as exc:  # not swallowed: every waiter raises it
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
            else:
                for _, done in batch:
                    if not done.done():
                        done.set_result(None)
