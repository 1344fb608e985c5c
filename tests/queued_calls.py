"""Requested calls put straight into the store, for tests of what cancels or reads them."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import insert, select

from service.store import CallStore
from service.store.schema import QUEUED, call_requests


async def queue_call(store: CallStore, call_id: str, status: str, to: str) -> None:
    now = datetime.now(UTC)
    async with store._engine.begin() as conn:
        await conn.execute(
            insert(call_requests).values(
                id=call_id,
                flow="customer_feedback",
                to_number=to,
                status=status,
                metadata="{}",
                created_at=now,
                updated_at=now,
                next_attempt_at=now if status == QUEUED else None,
            )
        )


async def statuses(store: CallStore) -> dict[str, str]:
    async with store._engine.connect() as conn:
        rows = await conn.execute(select(call_requests.c.id, call_requests.c.status))
    return {row.id: row.status for row in rows}
