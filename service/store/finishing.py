"""How a call's final payload is stored: with its outbox rows, in the caller's transaction.

``CallStore`` keeps the live calls; what happens when one ends lives here: the final
payload and its delivery rows written together (a transactional outbox), the real
payload superseding one the orphan sweeper made, and the sweeper itself. A call requested
over HTTP is queued only once its request is ended (the scheduler decides before that).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from flows.engine.ids import ulid
from service.settings import EndpointSettings
from service.store.engine import upsert
from service.store.schema import (
    DEAD,
    ENDED,
    FINISHED,
    LIVE,
    PENDING,
    SUPERSEDED,
    RequestStatus,
    call_requests,
    calls,
    deliveries,
)

if TYPE_CHECKING:
    # Imported where a payload is parsed: the model brings the answer parsers, a tenth of
    # a second on the start of `intake serve`, which parses none until a call ends.
    from flows.engine.payload import Payload


async def request_status(conn: AsyncConnection, call_id: str) -> RequestStatus | None:
    """The status of the call's request (None: not requested over HTTP), its row locked
    on PostgreSQL until the transaction ends."""
    status: RequestStatus | None = await conn.scalar(
        select(call_requests.c.status).where(call_requests.c.id == call_id).with_for_update()
    )
    return status


def delivered_now(request: RequestStatus | None) -> bool:
    """Whether a finished call's payload is queued as it is stored: always, unless the
    call was requested and its request is not ended (then the scheduler decides; a
    cancelled request's late result is never sent)."""
    return request is None or request == ENDED


def payload_text(payload: Payload) -> str:
    """The payload as stored and as sent: compact JSON in the contract's key order."""
    return json.dumps(payload.to_json_dict(), ensure_ascii=False, separators=(",", ":"))


async def finish(
    conn: AsyncConnection,
    payload: Payload,
    endpoints: Sequence[EndpointSettings],
    now: datetime,
    *,
    sip_status: int | None,
    retryable: bool | None,
) -> bool:
    """Store the final payload and queue it; False if the call was finished already."""
    text = payload_text(payload)
    # The request's row first (locked on PostgreSQL), as the scheduler does when it
    # settles: the two take turns, so a payload that lands while its call is being
    # settled is seen by the settling or sees the call ended.
    request = await request_status(conn, payload.call_id)
    statement = upsert(conn, calls).values(
        call_id=payload.call_id,
        flow=payload.flow,
        state=FINISHED,
        started_at=now,
        heartbeat_at=now,
        finished_at=now,
        snapshot=text,
        payload=text,
        sip_status=sip_status,
        retryable=retryable,
    )
    finished = await conn.execute(
        statement.on_conflict_do_update(
            index_elements=[calls.c.call_id],
            set_={
                "state": FINISHED,
                "finished_at": now,
                "payload": text,
                "sip_status": sip_status,
                "retryable": retryable,
                "orphaned": False,
            },
            where=(calls.c.state != FINISHED) | calls.c.orphaned,
        ).returning(calls.c.call_id)
    )
    if finished.first() is None:
        return False
    # Only an orphan's call has deliveries already; their bodies would now be this
    # payload under the orphan's webhook-id, so the new one alone carries it.
    await conn.execute(
        update(deliveries)
        .where(
            deliveries.c.call_id == payload.call_id,
            deliveries.c.status.in_((PENDING, DEAD)),
        )
        .values(status=SUPERSEDED, last_error="superseded by the call's real payload")
    )
    if request == ENDED:  # an orphan's payload superseded after the call was settled
        await conn.execute(
            update(call_requests)
            .where(call_requests.c.id == payload.call_id)
            .values(outcome=payload.status, updated_at=now)
        )
    if delivered_now(request):
        await queue_payload(conn, endpoints, payload.call_id, payload.flow, now)
    return True


async def finish_orphans(
    conn: AsyncConnection,
    endpoints: Sequence[EndpointSettings],
    now: datetime,
    cutoff: datetime,
) -> list[str]:
    """Finalise live calls not heard from since ``cutoff`` from their newest snapshot
    (see ``CallStore.sweep_orphans``); the ids of those finalised."""
    from flows.engine.payload import Payload, timestamp

    stale = (calls.c.state == LIVE) & (calls.c.heartbeat_at < cutoff)
    finalised: list[str] = []
    rows = await conn.execute(
        # in one order, so two sweepers lock rows in turn rather than crosswise
        select(calls.c.call_id, calls.c.snapshot).where(stale).order_by(calls.c.call_id).limit(500)
    )
    for call_id, snapshot in rows.all():
        request = await request_status(conn, call_id)
        payload = Payload.model_validate_json(snapshot).model_copy(
            update={
                "status": "incomplete",
                "ended_reason": "error",
                "ended_at": timestamp(now),
            }
        )
        updated = await conn.execute(
            update(calls)
            .where(calls.c.call_id == call_id, stale)
            .values(
                state=FINISHED,
                finished_at=now,
                payload=payload_text(payload),
                orphaned=True,
            )
            .returning(calls.c.call_id)
        )
        if updated.first() is not None:
            if delivered_now(request):
                await queue_payload(conn, endpoints, call_id, payload.flow, now)
            finalised.append(call_id)
    return finalised


async def queue_payload(
    conn: AsyncConnection,
    endpoints: Sequence[EndpointSettings],
    call_id: str,
    flow: str,
    now: datetime,
) -> None:
    """Outbox rows for the endpoints configured now that want this flow; one webhook-id."""
    webhook_id = f"msg_{ulid()}"
    rows = [
        {
            "call_id": call_id,
            "webhook_id": webhook_id,
            "endpoint_url": endpoint.url,
            "status": PENDING,
            "attempts": 0,
            "created_at": now,
            "next_attempt_at": now,
        }
        for endpoint in endpoints
        if endpoint.wants(flow)
    ]
    if rows:
        await conn.execute(insert(deliveries), rows)
