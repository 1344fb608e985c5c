"""Calls requested over HTTP (``POST /v1/calls``): creating, reading, listing, cancelling.

A new call is ``queued`` (due at ``not_before`` or now; the scheduler keeps it to its
window), or ``blocked`` when no time zone can be found for its number. A number on the
do-not-call list is refused (DoNotCallError). Checking the list, counting the call against
the key's quota and inserting it are one transaction: shared with the calls requested
meanwhile (``call_writer``), or of its own when the request has an Idempotency-Key. A key
reused with the same body returns the first call, with another body ConflictError; two
requests racing with one key create one call (the unique constraint decides on PostgreSQL,
``BEGIN IMMEDIATE`` on SQLite).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from flows.engine.clock import Clock
from flows.engine.ids import new_call_id
from flows.engine.json_types import JsonObject
from flows.engine.outcomes import CallStatus
from service.store.api_keys import Caller, charge_quota
from service.store.call_rows import NO_ZONE, zones_of
from service.store.call_writer import CallWriter
from service.store.dnc import ON_THE_LIST, listed_numbers
from service.store.engine import unavailable_as_store_error, upsert
from service.store.errors import ConflictError, DoNotCallError, NotFoundError
from service.store.schema import (
    BLOCKED,
    CANCELLED,
    ENDED,
    QUEUED,
    RequestStatus,
    call_attempts,
    call_requests,
    calls,
)

CANCELLED_BY_REQUEST = "cancelled through the API"


@dataclass(frozen=True)
class NewCall:
    flow: str
    to: str  # E.164
    from_: str | None = None
    metadata: JsonObject = field(default_factory=dict)
    not_before: datetime | None = None
    timezone: str | None = None  # a valid IANA name, overriding the number's
    simulate: JsonObject | None = None  # the scripted callee (--simulate only)


@dataclass(frozen=True)
class Idempotency:
    key: str
    request_hash: str  # sha256 hex of the request, to tell a replay from a reuse


@dataclass(frozen=True)
class Attempt:
    at: datetime
    outcome: CallStatus  # the payload status the dial ended with
    sip_status: int | None
    retryable: bool | None


@dataclass(frozen=True)
class CallRecord:
    id: str
    flow: str
    to: str
    from_: str | None
    status: RequestStatus
    reason: str | None
    campaign_id: str | None
    metadata: JsonObject
    not_before: datetime | None
    next_attempt_at: datetime | None
    created_at: datetime
    updated_at: datetime
    attempts: tuple[Attempt, ...] = ()
    payload: JsonObject | None = None  # the final payload, once ended


@dataclass(frozen=True)
class CallFilter:
    status: RequestStatus | None = None
    flow: str | None = None
    campaign_id: str | None = None


@dataclass(frozen=True)
class CallPage:
    items: list[CallRecord]
    next_cursor: str | None  # the id to continue after; None on the last page


class _Raced(Exception):
    """Another request created the call of this Idempotency-Key meanwhile."""


class CallRequests:
    def __init__(self, engine: AsyncEngine, clock: Clock) -> None:
        self._engine, self._clock = engine, clock
        self._writer = CallWriter(engine, clock)

    async def close(self) -> None:
        """Finish the calls being written and release the writer's connection."""
        await self._writer.close()

    @unavailable_as_store_error
    async def ping(self) -> None:
        async with self._engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    @unavailable_as_store_error
    async def create(
        self, call: NewCall, caller: Caller, idempotency: Idempotency | None = None
    ) -> CallRecord:
        now = self._clock()
        values = _values(call, caller, idempotency, now)  # before the write lock is taken
        if idempotency is None:  # the common case: written with others queued meanwhile
            return _from_values(await self._writer.create(values, caller))
        try:
            async with self._engine.begin() as conn:
                replayed = await self._replay(conn, caller, idempotency)
                if replayed is not None:
                    return replayed
                if await conn.run_sync(listed_numbers, [call.to]):
                    raise DoNotCallError(ON_THE_LIST)
                await charge_quota(conn, caller, 1, now)
                inserted = await conn.execute(
                    upsert(conn, call_requests)
                    .values(values)
                    .on_conflict_do_nothing(
                        index_elements=[call_requests.c.api_key_id, call_requests.c.idempotency_key]
                    )
                    .returning(call_requests.c.id)
                )
                if inserted.first() is None:
                    raise _Raced
                return _from_values(values)
        except _Raced:
            async with self._engine.connect() as conn:
                replayed = await self._replay(conn, caller, idempotency)
            if replayed is None:  # the other request's transaction was rolled back
                raise ConflictError("a request with this Idempotency-Key was under way") from None
            return replayed

    async def _replay(
        self, conn: AsyncConnection, caller: Caller, idempotency: Idempotency
    ) -> CallRecord | None:
        row = (
            await conn.execute(
                _call_query().where(
                    call_requests.c.api_key_id == caller.key_id,
                    call_requests.c.idempotency_key == idempotency.key,
                )
            )
        ).first()
        if row is None:
            return None
        if row.request_hash != idempotency.request_hash:
            raise ConflictError("this Idempotency-Key was used with another request body")
        return (await _with_attempts(conn, [row]))[0]

    @unavailable_as_store_error
    async def get(self, call_id: str) -> CallRecord:
        async with self._engine.connect() as conn:
            row = (await conn.execute(_call_query().where(call_requests.c.id == call_id))).first()
            if row is None:
                raise NotFoundError("no such call")
            return (await _with_attempts(conn, [row]))[0]

    @unavailable_as_store_error
    async def list_calls(
        self, where: CallFilter, *, limit: int, cursor: str | None = None
    ) -> CallPage:
        """Newest first, ``limit`` at a time; ``cursor`` is the previous page's next_cursor."""
        query = _call_query().order_by(call_requests.c.id.desc()).limit(limit + 1)
        for column, value in (
            (call_requests.c.status, where.status),
            (call_requests.c.flow, where.flow),
            (call_requests.c.campaign_id, where.campaign_id),
        ):
            if value is not None:
                query = query.where(column == value)
        if cursor is not None:
            query = query.where(call_requests.c.id < cursor)
        async with self._engine.connect() as conn:
            rows = list((await conn.execute(query)).all())
            items = await _with_attempts(conn, rows[:limit])
        return CallPage(items, items[-1].id if len(rows) > limit else None)

    @unavailable_as_store_error
    async def cancel(self, call_id: str) -> CallRecord:
        """Cancel a queued call; ConflictError once it is dialling or later."""
        async with self._engine.begin() as conn:
            cancelled = await conn.execute(
                update(call_requests)
                .where(call_requests.c.id == call_id, call_requests.c.status == QUEUED)
                .values(
                    status=CANCELLED,
                    reason=CANCELLED_BY_REQUEST,
                    next_attempt_at=None,
                    updated_at=self._clock(),
                )
            )
            row = (await conn.execute(_call_query().where(call_requests.c.id == call_id))).first()
            if row is None:
                raise NotFoundError("no such call")
            if cancelled.rowcount != 1:
                raise ConflictError(
                    f"only a queued call can be cancelled; this one is {row.status}"
                )
            return (await _with_attempts(conn, [row]))[0]


def _values(
    call: NewCall, caller: Caller, idempotency: Idempotency | None, now: datetime
) -> dict[str, Any]:
    blocked = not zones_of(call.to, call.timezone)
    return {
        "id": new_call_id(),
        "flow": call.flow,
        "to_number": call.to,
        "from_number": call.from_,
        "timezone": call.timezone,
        "status": BLOCKED if blocked else QUEUED,
        "reason": NO_ZONE if blocked else None,
        "campaign_id": None,
        "metadata": json.dumps(call.metadata, ensure_ascii=False),
        "simulate": None if call.simulate is None else json.dumps(call.simulate),
        "not_before": call.not_before,
        "next_attempt_at": None if blocked else (call.not_before or now),
        "api_key_id": caller.key_id,
        "idempotency_key": idempotency.key if idempotency else None,
        "request_hash": idempotency.request_hash if idempotency else None,
        "created_at": now,
        "updated_at": now,
    }


def _from_values(values: dict[str, Any]) -> CallRecord:
    return CallRecord(
        id=values["id"],
        flow=values["flow"],
        to=values["to_number"],
        from_=values["from_number"],
        status=values["status"],
        reason=values["reason"],
        campaign_id=None,
        metadata=json.loads(values["metadata"]),
        not_before=values["not_before"],
        next_attempt_at=values["next_attempt_at"],
        created_at=values["created_at"],
        updated_at=values["updated_at"],
    )


def _call_query() -> Select[Any]:
    """A requested call's columns, and the final payload once it has ended."""
    return select(call_requests, calls.c.payload).select_from(
        call_requests.outerjoin(
            calls, (calls.c.call_id == call_requests.c.id) & (call_requests.c.status == ENDED)
        )
    )


async def _with_attempts(conn: AsyncConnection, rows: Sequence[Row[Any]]) -> list[CallRecord]:
    attempts: dict[str, list[Attempt]] = {row.id: [] for row in rows}
    if attempts:
        found = await conn.execute(
            select(call_attempts)
            .where(call_attempts.c.call_id.in_(list(attempts)))
            .order_by(call_attempts.c.call_id, call_attempts.c.attempt)
        )
        for attempt in found:
            attempts[attempt.call_id].append(
                Attempt(attempt.at, attempt.outcome, attempt.sip_status, attempt.retryable)
            )
    return [
        CallRecord(
            id=row.id,
            flow=row.flow,
            to=row.to_number,
            from_=row.from_number,
            status=row.status,
            reason=row.reason,
            campaign_id=row.campaign_id,
            metadata=json.loads(row.metadata),
            not_before=row.not_before,
            next_attempt_at=row.next_attempt_at,
            created_at=row.created_at,
            updated_at=row.updated_at,
            attempts=tuple(attempts[row.id]),
            payload=json.loads(row.payload) if row.payload else None,
        )
        for row in rows
    ]
