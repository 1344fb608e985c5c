"""The do-not-call list: numbers (E.164) that are never dialled.

The API adds and removes numbers; a callee who asks not to be called again is added from
the call, and then their queued calls are cancelled at once. The scheduler checks the list
again at dial time, so a number added after a call was queued is still never dialled.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, delete, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from flows.engine.clock import Clock
from service.store.engine import unavailable_as_store_error, upsert
from service.store.schema import CANCELLED, QUEUED, call_requests, do_not_call

CALLER_ASKED = "the callee asked not to be called again"
CHUNK = 1000  # numbers per IN (...)


@dataclass(frozen=True)
class ListedNumber:
    number: str  # E.164
    added_at: datetime
    source: str  # "api", or the call_id of the request in which the callee asked


class DoNotCallList:
    def __init__(self, engine: AsyncEngine, clock: Clock) -> None:
        self._engine, self._clock = engine, clock

    @unavailable_as_store_error
    async def add(self, number: str, *, source: str, cancel_queued: bool = False) -> int:
        """Put ``number`` on the list (adding it again changes nothing). With
        ``cancel_queued``, its queued calls are cancelled; returns how many."""
        now = self._clock()
        async with self._engine.begin() as conn:
            await conn.execute(
                upsert(conn, do_not_call)
                .values(number=number, added_at=now, source=source)
                .on_conflict_do_nothing(index_elements=[do_not_call.c.number])
            )
            if not cancel_queued:
                return 0
            cancelled = await conn.execute(
                update(call_requests)
                .where(call_requests.c.to_number == number, call_requests.c.status == QUEUED)
                .values(status=CANCELLED, reason=CALLER_ASKED, next_attempt_at=None, updated_at=now)
            )
            return cancelled.rowcount

    @unavailable_as_store_error
    async def remove(self, number: str) -> bool:
        """Take ``number`` off the list; False if it was not on it."""
        async with self._engine.begin() as conn:
            removed = await conn.execute(delete(do_not_call).where(do_not_call.c.number == number))
            return removed.rowcount > 0

    @unavailable_as_store_error
    async def contains(self, number: str) -> bool:
        async with self._engine.connect() as conn:
            found = await conn.scalar(
                select(do_not_call.c.number).where(do_not_call.c.number == number)
            )
        return found is not None

    @unavailable_as_store_error
    async def entry(self, number: str) -> ListedNumber | None:
        """When and by whom ``number`` was put on the list; None if it is not on it."""
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(select(do_not_call).where(do_not_call.c.number == number))
            ).first()
        return None if row is None else ListedNumber(row.number, row.added_at, row.source)


ON_THE_LIST = "the number is on the do-not-call list"  # why a call is refused or blocked


def listed_numbers(conn: Connection, numbers: Iterable[str]) -> set[str]:
    """Which of ``numbers`` are on the list, asked in chunks well below the drivers' limits
    on parameters. Synchronous, for transactions run in one go (``conn.run_sync``)."""
    wanted, found = sorted(numbers), set[str]()
    for start in range(0, len(wanted), CHUNK):
        rows = conn.execute(
            select(do_not_call.c.number).where(
                do_not_call.c.number.in_(wanted[start : start + CHUNK])
            )
        )
        found.update(rows.scalars())
    return found
