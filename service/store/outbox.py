"""The delivery outbox: claim what is due, record each attempt, list, replay.

A claim pushes ``next_attempt_at`` past the attempt's lease instead of setting a flag: if
the delivering process dies mid-attempt, the delivery simply falls due again when the
lease lapses and is re-sent with the same webhook-id (receivers deduplicate on it).
PostgreSQL claims with ``FOR UPDATE SKIP LOCKED`` so several deliverers share the work;
SQLite's single writer makes the same statement exclusive.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import Row, bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from flows.engine.clock import Clock
from service.store.engine import unavailable_as_store_error, upsert
from service.store.errors import UnknownDeliveryError
from service.store.schema import (
    DEAD,
    DELIVERED,
    PENDING,
    SUPERSEDED,
    DeliveryStatus,
    calls,
    deliveries,
    delivery_attempts,
    disabled_endpoints,
)


@dataclass(frozen=True)
class DueDelivery:
    """A claimed delivery, with everything one attempt needs."""

    id: int
    call_id: str
    webhook_id: str
    endpoint_url: str
    attempts: int  # made before this one (since queued or replayed)
    body: str
    endpoint_disabled: bool


@dataclass(frozen=True)
class Attempt:
    """What one POST did: a status code, or the error that stopped it."""

    attempted_at: datetime
    duration_ms: int
    status_code: int | None
    error: str | None


VerdictStatus = Literal["pending", "delivered", "dead"]  # superseded is the store's own doing


@dataclass(frozen=True)
class Verdict:
    """What a delivery becomes after an attempt (or without one, when it cannot be made)."""

    status: VerdictStatus
    next_attempt_at: datetime
    error: str | None = None  # why, when not the attempt's own error
    disable_endpoint: str | None = None  # a reason to stop sending to the endpoint


@dataclass(frozen=True)
class DeliveryResult:
    """One delivery's attempt (None if none could be made) and what it became."""

    delivery: DueDelivery
    attempt: Attempt | None
    verdict: Verdict


@dataclass(frozen=True)
class DeliveryRecord:
    id: int
    call_id: str
    webhook_id: str
    endpoint_url: str
    status: DeliveryStatus
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    delivered_at: datetime | None
    last_status_code: int | None
    last_error: str | None

    @property
    def state(self) -> str:
        """``retrying`` for a pending delivery that has failed before; else the status."""
        return "retrying" if self.status == PENDING and self.attempts else self.status


class Outbox:
    def __init__(self, engine: AsyncEngine, clock: Clock) -> None:
        self._engine, self._clock = engine, clock

    @unavailable_as_store_error
    async def claim_due(
        self, limit: int, *, lease: timedelta, ids: Collection[int] | None = None
    ) -> list[DueDelivery]:
        """Up to ``limit`` due deliveries (of ``ids`` if given), claimed for ``lease``."""
        now = self._clock()
        due = (deliveries.c.status == PENDING) & (deliveries.c.next_attempt_at <= now)
        if ids is not None:
            due &= deliveries.c.id.in_(ids)
        chosen = (
            select(deliveries.c.id)
            .where(due)
            .order_by(deliveries.c.next_attempt_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        async with self._engine.begin() as conn:
            claimed = (
                await conn.execute(
                    update(deliveries)
                    .where(deliveries.c.id.in_(chosen.scalar_subquery()))
                    .values(next_attempt_at=now + lease)
                    .returning(
                        deliveries.c.id,
                        deliveries.c.call_id,
                        deliveries.c.webhook_id,
                        deliveries.c.endpoint_url,
                        deliveries.c.attempts,
                    )
                )
            ).all()
            if not claimed:
                return []
            call_ids = {row.call_id for row in claimed}
            found = await conn.execute(
                select(calls.c.call_id, calls.c.payload).where(calls.c.call_id.in_(call_ids))
            )
            bodies = {row.call_id: row.payload for row in found}
            urls = {row.endpoint_url for row in claimed}
            disabled = set(
                await conn.scalars(
                    select(disabled_endpoints.c.url).where(disabled_endpoints.c.url.in_(urls))
                )
            )
        return [
            DueDelivery(
                id=row.id,
                call_id=row.call_id,
                webhook_id=row.webhook_id,
                endpoint_url=row.endpoint_url,
                attempts=row.attempts,
                body=bodies[row.call_id],
                endpoint_disabled=row.endpoint_url in disabled,
            )
            for row in sorted(claimed, key=lambda row: row.id)
        ]

    @unavailable_as_store_error
    async def record(self, results: Sequence[DeliveryResult]) -> None:
        """Attempts, the deliveries' new states and disabled endpoints, in one transaction
        (the deliverer groups the results of attempts that end together: one commit)."""
        attempts = [
            {
                "delivery_id": result.delivery.id,
                "attempted_at": result.attempt.attempted_at,
                "duration_ms": result.attempt.duration_ms,
                "status_code": result.attempt.status_code,
                "error": result.attempt.error,
            }
            for result in results
            if result.attempt is not None
        ]
        changes = [_changes(result) for result in results]
        async with self._engine.begin() as conn:
            if attempts:
                await conn.execute(insert(delivery_attempts), attempts)
            # A delivery another process already delivered (its lease had lapsed) stays so;
            # one superseded while its attempt ran is not retried.
            await conn.execute(
                update(deliveries)
                .where(
                    deliveries.c.id == bindparam("b_id"),
                    deliveries.c.status != DELIVERED,
                    deliveries.c.status != SUPERSEDED,
                )
                .values({name: bindparam(f"b_{name}") for name in UPDATED}),
                changes,
            )
            for result in results:
                if result.verdict.disable_endpoint is not None:
                    disable = upsert(conn, disabled_endpoints).values(
                        url=result.delivery.endpoint_url,
                        disabled_at=self._clock(),
                        reason=result.verdict.disable_endpoint,
                    )
                    await conn.execute(disable.on_conflict_do_nothing())

    @unavailable_as_store_error
    async def recent(self, *, failed_only: bool = False, limit: int = 100) -> list[DeliveryRecord]:
        """Newest first; ``failed_only``: the dead letters."""
        query = select(deliveries).order_by(deliveries.c.id.desc()).limit(limit)
        if failed_only:
            query = query.where(deliveries.c.status == DEAD)
        async with self._engine.connect() as conn:
            return [_record(row) for row in await conn.execute(query)]

    @unavailable_as_store_error
    async def of_call(self, call_id: str) -> list[int]:
        async with self._engine.connect() as conn:
            found = await conn.scalars(
                select(deliveries.c.id).where(deliveries.c.call_id == call_id)
            )
            return sorted(found)

    @unavailable_as_store_error
    async def replay(self, delivery_id: int | None) -> list[int]:
        """Queue one delivery (any status), or every dead letter, to be sent again now.

        The schedule starts over and the endpoints concerned are enabled again: replaying
        is how an operator says the receiver is back.
        """
        target = (
            deliveries.c.id == delivery_id
            if delivery_id is not None
            else deliveries.c.status == DEAD
        )
        async with self._engine.begin() as conn:
            rows = (
                await conn.execute(
                    update(deliveries)
                    .where(target)
                    .values(status=PENDING, attempts=0, next_attempt_at=self._clock())
                    .returning(deliveries.c.id, deliveries.c.endpoint_url)
                )
            ).all()
            if delivery_id is not None and not rows:
                raise UnknownDeliveryError(f"no delivery {delivery_id}")
            urls = {row.endpoint_url for row in rows}
            await conn.execute(delete(disabled_endpoints).where(disabled_endpoints.c.url.in_(urls)))
        return sorted(row.id for row in rows)


UPDATED = (
    "status",
    "attempts",
    "next_attempt_at",
    "delivered_at",
    "last_status_code",
    "last_error",
)


def _changes(result: DeliveryResult) -> dict[str, object]:
    """The bound values of the delivery's UPDATE (``b_`` keeps them apart from columns)."""
    attempt, verdict = result.attempt, result.verdict
    values = {
        "id": result.delivery.id,
        "status": verdict.status,
        "attempts": result.delivery.attempts + (1 if attempt else 0),
        "next_attempt_at": verdict.next_attempt_at,
        "delivered_at": attempt.attempted_at if attempt and verdict.status == DELIVERED else None,
        "last_status_code": attempt.status_code if attempt else None,
        "last_error": verdict.error or (attempt.error if attempt else None),
    }
    return {f"b_{name}": value for name, value in values.items()}


def _record(row: Row[tuple[object, ...]]) -> DeliveryRecord:
    return DeliveryRecord(**row._mapping)  # the dataclass's fields are the table's columns
