"""Creating requested calls in batches: a group commit.

Every ``POST /v1/calls`` needs a transaction (the do-not-call list, the key's quota, the
insert). One at a time, each would pay a BEGIN and a COMMIT with its fsync, and on SQLite
(one writer) they would queue behind each other anyway. Instead, requests queue here and
one drain task writes whatever has queued meanwhile in one transaction: one look at the
list for all the numbers, one quota row per key (locked, so concurrent writers take
turns), one executemany insert. Each request still gets its own answer: its row, or
DoNotCallError, or QuotaExceededError when the requests before it used up its key's minute.

On SQLite the transaction runs in one go on a thread of its own with the synchronous
driver: aiosqlite hands every statement to its thread and back (five hops for an empty
transaction, each costing more CPU than the statement).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert
from sqlalchemy.ext.asyncio import AsyncEngine

from flows.engine.clock import Clock
from service.store.api_keys import Caller, count_calls, room_left, used_up
from service.store.dnc import ON_THE_LIST, listed_numbers
from service.store.engine import sqlite_sync_engine, unavailable_as_store_error
from service.store.errors import DoNotCallError
from service.store.schema import call_requests

BATCH = 500  # requests per transaction at most


@dataclass(frozen=True)
class _Request:
    values: dict[str, Any]  # the call_requests row
    caller: Caller


class CallWriter:
    def __init__(self, engine: AsyncEngine, clock: Clock) -> None:
        self._engine, self._clock = engine, clock
        self._queue: list[tuple[_Request, asyncio.Future[dict[str, Any]]]] = []
        self._drain: asyncio.Task[None] | None = None
        self._sqlite: Engine | None = None  # made at first use, on SQLite only
        self._thread: ThreadPoolExecutor | None = None

    async def create(self, values: dict[str, Any], caller: Caller) -> dict[str, Any]:
        """Insert the row ``values`` once its key's quota and the list allow; the row back."""
        answer: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._queue.append((_Request(values, caller), answer))
        if self._drain is None or self._drain.done():
            self._drain = asyncio.ensure_future(self._write_queued())
        return await answer

    async def close(self) -> None:
        if self._drain is not None:
            await asyncio.gather(self._drain, return_exceptions=True)
        if self._thread is not None:
            self._thread.shutdown(wait=True)
            self._thread = None
        if self._sqlite is not None:
            self._sqlite.dispose()
            self._sqlite = None

    async def _write_queued(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[:BATCH], self._queue[BATCH:]
            try:
                refused = await self._write([request for request, _ in batch])
            except Exception as exc:  # the store failed: every request of the batch hears it
                refused = dict.fromkeys(range(len(batch)), exc)
            for position, (request, answer) in enumerate(batch):
                if answer.done():  # the request was cancelled meanwhile
                    continue
                error = refused.get(position)
                if error is None:
                    answer.set_result(request.values)
                else:
                    answer.set_exception(error)

    @unavailable_as_store_error
    async def _write(self, batch: list[_Request]) -> dict[int, Exception]:
        now = self._clock()
        if self._engine.dialect.name != "sqlite":
            async with self._engine.begin() as conn:
                return await conn.run_sync(_write_batch, batch, now)
        if self._sqlite is None or self._thread is None:
            self._sqlite = sqlite_sync_engine(self._engine.url)
            self._thread = ThreadPoolExecutor(1, thread_name_prefix="intake-call-writer")
        return await asyncio.get_running_loop().run_in_executor(
            self._thread, _write_sqlite, self._sqlite, batch, now
        )


def _write_sqlite(engine: Engine, batch: list[_Request], now: datetime) -> dict[int, Exception]:
    with engine.begin() as conn:
        return _write_batch(conn, batch, now)


def _write_batch(conn: Connection, batch: list[_Request], now: datetime) -> dict[int, Exception]:
    """Write the batch in the transaction of ``conn``; the requests refused (by position
    in the batch), with why."""
    listed = listed_numbers(conn, {request.values["to_number"] for request in batch})
    room: dict[str, int] = {}
    refused: dict[int, Exception] = {}
    accepted = []
    for position, request in enumerate(batch):
        key_id = request.caller.key_id
        if request.values["to_number"] in listed:
            refused[position] = DoNotCallError(ON_THE_LIST)
            continue
        if key_id not in room:
            room[key_id] = room_left(conn, request.caller, now)
        if room[key_id] == 0:
            refused[position] = used_up(request.caller, now)
            continue
        room[key_id] -= 1
        accepted.append(request)
    for key_id, calls in Counter(request.caller.key_id for request in accepted).items():
        count_calls(conn, key_id, calls, now)
    if accepted:
        conn.execute(insert(call_requests), [request.values for request in accepted])
    return refused
