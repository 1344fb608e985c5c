"""``CallStore``: live calls, their step progress, final payloads and their outbox rows.

One class serves SQLite and PostgreSQL. The final payload and its delivery rows are
written in one transaction (a transactional outbox, ``service.store.finishing``), so a
payload is never stored without its deliveries nor delivered without being stored. Every
write that concerns a live call is guarded by ``state = 'live'``: a late step or heartbeat
never reopens a finished call.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Self

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from flows.engine.clock import Clock, utc_now
from flows.engine.ids import ulid
from service.settings import EndpointSettings
from service.store.dnc import DoNotCallList
from service.store.engine import (
    create_engine,
    migrate,
    store_failure,
    unavailable_as_store_error,
    upsert,
)
from service.store.errors import StoreUnavailableError, UnknownCallError
from service.store.finishing import finish, finish_orphans, payload_text, queue_payload
from service.store.outbox import Outbox
from service.store.schema import (
    FINISHED,
    LIVE,
    call_steps,
    calls,
)

if TYPE_CHECKING:  # parsing a payload loads the answer parsers; serve starts without them
    from flows.engine.payload import Payload


class CallStore:
    def __init__(
        self, engine: AsyncEngine, endpoints: Sequence[EndpointSettings], clock: Clock
    ) -> None:
        self._engine, self._endpoints, self._clock = engine, list(endpoints), clock
        self.outbox = Outbox(engine, clock)
        self.dnc = DoNotCallList(engine, clock)

    @classmethod
    def create(
        cls,
        url: str,
        *,
        endpoints: Sequence[EndpointSettings] = (),
        clock: Clock = utc_now,
    ) -> Self:
        """The store on ``url`` without touching the database: connections are made when
        first used, so a database that is down fails writes, not the creation. A job
        process makes its store this way (once, in prewarm); migrating is left to the
        long-lived processes. ``endpoints`` receive the payloads of calls finished here."""
        return cls(create_engine(url), endpoints, clock)

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        endpoints: Sequence[EndpointSettings] = (),
        clock: Clock = utc_now,
    ) -> Self:
        """Create and migrate: a store that is ready, or StoreUnavailableError."""
        store = cls.create(url, endpoints=endpoints, clock=clock)
        try:
            await store.migrate()
        except StoreUnavailableError:
            await store.close()
            raise
        return store

    @property
    def engine(self) -> AsyncEngine:
        """The store's engine, for the scheduler's tables (``scheduling``, ``settling``)."""
        return self._engine

    async def migrate(self) -> None:
        """Bring the schema to the newest revision (a no-op when it is there already)."""
        threads = set(threading.enumerate())
        try:
            await migrate(self._engine)
        except (SQLAlchemyError, OSError) as exc:
            await self._engine.dispose()
            await _failed_connects_stopped(threads)
            where = self._engine.url.render_as_string(hide_password=True)
            raise store_failure(f"cannot open the database {where}", exc) from exc

    async def close(self) -> None:
        """Close the pooled connections. The store stays usable: a later write connects
        again (a job process closes its store after each call, since connections belong
        to the event loop that made them)."""
        await self._engine.dispose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    @unavailable_as_store_error
    async def check_writable(self) -> None:
        """A test write that leaves nothing behind (``intake worker --check``): a row
        inserted and deleted again in one committed transaction."""
        call_id, now = f"check_{ulid()}", self._clock()
        async with self._engine.begin() as conn:
            await conn.execute(
                insert(calls).values(
                    call_id=call_id,
                    flow="intake-check",
                    state=FINISHED,  # never a live call, should anyone see it
                    started_at=now,
                    heartbeat_at=now,
                    snapshot="{}",
                )
            )
            await conn.execute(delete(calls).where(calls.c.call_id == call_id))

    @unavailable_as_store_error
    async def call_started(self, snapshot: Payload, *, worker_id: str) -> None:
        """A live call, and what its payload would be if it died now."""
        now, text = self._clock(), payload_text(snapshot)
        async with self._engine.begin() as conn:
            statement = upsert(conn, calls).values(
                call_id=snapshot.call_id,
                flow=snapshot.flow,
                state=LIVE,
                worker_id=worker_id,
                started_at=now,
                heartbeat_at=now,
                snapshot=text,
            )
            await conn.execute(
                statement.on_conflict_do_update(
                    index_elements=[calls.c.call_id],
                    set_={"worker_id": worker_id, "heartbeat_at": now, "snapshot": text},
                    where=calls.c.state == LIVE,
                )
            )

    @unavailable_as_store_error
    async def step_completed(self, call_id: str, step_id: str, snapshot: Payload) -> None:
        """Persist a completed step and the newest snapshot; counts as a heartbeat."""
        now = self._clock()
        async with self._engine.begin() as conn:
            updated = await conn.execute(
                update(calls)
                .where(calls.c.call_id == call_id, calls.c.state == LIVE)
                .values(snapshot=payload_text(snapshot), heartbeat_at=now)
                .returning(calls.c.call_id)
            )
            if updated.first() is None:
                known = await conn.scalar(select(calls.c.call_id).where(calls.c.call_id == call_id))
                if known is None:
                    raise UnknownCallError(f"no call {call_id}; call_started comes first")
                return  # finished already (perhaps by the orphan sweeper): keep what was sent
            results = json.dumps(snapshot.results.get(step_id, {}), ensure_ascii=False)
            step = upsert(conn, call_steps).values(
                call_id=call_id, step_id=step_id, completed_at=now, results=results
            )
            await conn.execute(
                step.on_conflict_do_update(  # a corrected step completes again
                    index_elements=[call_steps.c.call_id, call_steps.c.step_id],
                    set_={"completed_at": now, "results": results},
                )
            )

    @unavailable_as_store_error
    async def call_answered(self, call_id: str) -> None:
        """The outbound callee picked up (a person or a machine): ``answered_at``, set once
        and only while the call is live. Counts as a heartbeat."""
        now = self._clock()
        async with self._engine.begin() as conn:
            await conn.execute(
                update(calls)
                .where(
                    calls.c.call_id == call_id,
                    calls.c.state == LIVE,
                    calls.c.answered_at.is_(None),
                )
                .values(answered_at=now, heartbeat_at=now)
            )

    @unavailable_as_store_error
    async def heartbeat(self, call_id: str) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                update(calls)
                .where(calls.c.call_id == call_id, calls.c.state == LIVE)
                .values(heartbeat_at=self._clock())
            )

    @unavailable_as_store_error
    async def call_finished(
        self, payload: Payload, *, sip_status: int | None = None, retryable: bool | None = None
    ) -> None:
        """Store the final payload and queue it for every matching endpoint, atomically.

        ``sip_status``/``retryable`` record why an outbound call never connected.
        Idempotent per call: once a call is finished, a second call is a no-op, except
        that the real payload supersedes one the orphan sweeper made from a snapshot: it
        replaces the stored payload, the orphan's deliveries not yet made are cancelled,
        and it is queued again under a new webhook-id.

        A call requested over HTTP is delivered once, when final: while its request is
        not ended, the payload is stored and the scheduler queues it when it settles the
        call as final (``queue_deliveries``); a dial it retries is never delivered.
        """
        async with self._engine.begin() as conn:
            await self.finish_in(conn, payload, sip_status=sip_status, retryable=retryable)

    async def finish_in(
        self,
        conn: AsyncConnection,
        payload: Payload,
        *,
        sip_status: int | None = None,
        retryable: bool | None = None,
    ) -> bool:
        """``call_finished`` within the caller's transaction; False if it was a no-op."""
        return await finish(
            conn,
            payload,
            self._endpoints,
            self._clock(),
            sip_status=sip_status,
            retryable=retryable,
        )

    async def queue_deliveries(self, conn: AsyncConnection, call_id: str, flow: str) -> None:
        """Queue a stored payload for every matching endpoint, within the caller's
        transaction: the scheduler does this when it settles a requested call as final."""
        await queue_payload(conn, self._endpoints, call_id, flow, self._clock())

    async def do_not_call(self, number: str, *, call_id: str) -> None:
        """The callee of ``call_id`` asked not to be called again: on the list at once, and
        their queued calls cancelled."""
        await self.dnc.add(number, source=call_id, cancel_queued=True)

    @unavailable_as_store_error
    async def sweep_orphans(self, *, stale_after: timedelta) -> list[str]:
        """Finalise live calls whose worker stopped heartbeating, from their newest snapshot.

        Status ``incomplete``, ended_reason ``error``; queued like any finished call (a
        requested call's once the scheduler settles it), and marked, so that the call's
        real payload, should it still come (from a worker's spool), supersedes it. The
        staleness is checked again in the UPDATE, so a heartbeat that lands meanwhile wins.
        """
        now = self._clock()
        async with self._engine.begin() as conn:
            return await finish_orphans(conn, self._endpoints, now, now - stale_after)

    @unavailable_as_store_error
    async def get_payload(self, call_id: str) -> Payload | None:
        """The final payload of a finished call; None if unknown or still live."""
        async with self._engine.connect() as conn:
            text = await conn.scalar(select(calls.c.payload).where(calls.c.call_id == call_id))
        from flows.engine.payload import Payload

        return None if text is None else Payload.model_validate_json(text)


async def _failed_connects_stopped(before: set[threading.Thread], timeout: float = 1.0) -> None:
    """Wait for the worker threads of SQLite connections that failed to open. aiosqlite
    queues their stop without awaiting it (omnilib/aiosqlite#389): a thread finishing after
    the command's event loop closed printed a traceback over the one-line error."""
    for thread in set(threading.enumerate()) - before:
        if "_connection_worker_thread" in thread.name:
            await asyncio.to_thread(thread.join, timeout)
