"""What a call job leaves behind: its progress while it runs, its payload at the end.

A database outage never stops a call. Progress writes (the call's start, its answer, each
step, a request not to be called again) that fail are logged and the conversation goes on.
The final payload is first written to the local spool (fsynced), then stored; the spool
entry is removed once the store has it. If the store is down the entry stays, and the
worker's main process or ``intake deliver`` imports it later.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Awaitable
from datetime import datetime
from typing import Protocol

import structlog

from flows.engine.call import Call, CallInfo
from flows.engine.outcomes import DialFailure
from flows.engine.payload import Payload, timestamp
from flows.engine.ports import CallRecorder
from service.store.spool import SpoolEntry

UNKNOWN_VERSION = "unknown"  # a payload's flow_version when the flow could not be loaded

log = structlog.get_logger("intake.job")

WORKER_ID = f"{socket.gethostname()}:{os.getpid()}"
# With the payload spooled, storing it is tried briefly: the importer does the rest.
SPOOLED_STORE_ATTEMPTS = 2
# Without (the spool could not be written), longer: this is then the only copy.
UNSPOOLED_STORE_ATTEMPTS = 3
STORE_ATTEMPT_TIMEOUT = 10.0  # seconds for one attempt, e.g. a PostgreSQL that is unreachable
PROGRESS_DRAIN_TIMEOUT = 5.0  # seconds the last progress writes get once the call has ended
# "Don't call me again" is retried (it is not in the payload): 1 s, then 2 s between tries.
DO_NOT_CALL_ATTEMPTS = 3


class PayloadSpool(Protocol):
    """Where the final payload is kept until the store has it (``service.store.Spool``).
    Blocking file I/O: called in a thread."""

    def write(self, entry: SpoolEntry) -> None: ...
    def remove(self, call_id: str) -> None: ...


class Progress:
    """Each step's result stored as it completes, and a heartbeat while the call lives, so
    that a worker dying mid-call still leaves a payload for the orphan sweeper; the moment an
    outbound callee picks up; and a callee's request not to be called again, at once (the
    number goes on the do-not-call list and its queued calls are cancelled).

    Nothing here holds the call up: ``call_started`` runs in the background (the greeting
    does not wait for the database) and the writes about the call's row follow it."""

    def __init__(
        self, recorder: CallRecorder, call: Call, interval: float, *, worker_id: str = WORKER_ID
    ) -> None:
        self._recorder, self._call, self._interval = recorder, call, interval
        self._worker_id = worker_id
        self._writes: set[asyncio.Task[None]] = set()
        self._started: asyncio.Task[None] | None = None
        self._beating: asyncio.Task[None] | None = None

    async def start(self) -> None:
        call = self._call
        started = self._recorder.call_started(call.snapshot(), worker_id=self._worker_id)
        self._started = self._track(_store("call_started", started))
        call.on_step_completed.append(self._step_completed)
        call.on_picked_up.append(self._picked_up)
        call.on_do_not_call.append(self._do_not_call)
        if call.picked_up:
            self._picked_up()
        if call.do_not_call:
            self._do_not_call()
        self._beating = asyncio.create_task(self._beat(), name="call-heartbeat")

    def _step_completed(self, step_id: str) -> None:
        self._track(self._write_step(step_id, self._call.snapshot()))

    async def _after_start(self) -> None:
        if self._started is not None:
            await asyncio.shield(self._started)  # the call's row comes first

    async def _write_step(self, step_id: str, snapshot: Payload) -> None:
        await self._after_start()
        call_id = self._call.info.call_id
        await _store("step_completed", self._recorder.step_completed(call_id, step_id, snapshot))

    def _picked_up(self) -> None:
        self._track(self._write_answered())

    async def _write_answered(self) -> None:
        await self._after_start()
        await _store("call_answered", self._recorder.call_answered(self._call.info.call_id))

    def _do_not_call(self) -> None:
        number = self._call.info.call_number
        if number is None:  # an inbound caller who withheld their number
            log.warning("do_not_call.no_number", call_id=self._call.info.call_id)
            return
        self._track(self._write_do_not_call(number))

    async def _write_do_not_call(self, number: str) -> None:
        """Not after ``call_started``: the list does not need the call's row. Retried, since
        nothing else carries the request; a failure names the call (whose payload has the
        number), never the number."""
        call_id = self._call.info.call_id
        try:
            for attempt in range(1, DO_NOT_CALL_ATTEMPTS + 1):
                try:
                    write = self._recorder.do_not_call(number, call_id=call_id)
                    await asyncio.wait_for(write, STORE_ATTEMPT_TIMEOUT)
                except Exception as exc:
                    log.error(
                        "store.write_failed",
                        write="do_not_call",
                        attempt=attempt,
                        error=type(exc).__name__,
                    )
                    if attempt < DO_NOT_CALL_ATTEMPTS:
                        await asyncio.sleep(attempt)
                    continue
                log.info("do_not_call.stored", call_id=call_id)
                return
        except asyncio.CancelledError:
            log.error("do_not_call.not_stored", call_id=call_id)
            raise
        log.error("do_not_call.not_stored", call_id=call_id)

    def _track(self, write: Awaitable[None]) -> asyncio.Task[None]:
        task = asyncio.ensure_future(write)
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)
        return task

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            await _store("heartbeat", self._recorder.heartbeat(self._call.info.call_id))

    async def stop(self) -> None:
        """Stop the heartbeat; give writes under way a moment, then let them go (the
        payload, written next, holds everything they would have)."""
        if self._beating is not None:
            self._beating.cancel()
        if not self._writes:
            return
        _, late = await asyncio.wait(set(self._writes), timeout=PROGRESS_DRAIN_TIMEOUT)
        for task in late:
            task.cancel()
        if late:
            log.warning("store.progress_abandoned", writes=len(late))
            await asyncio.wait(late)


async def _store(what: str, write: Awaitable[None]) -> None:
    """A store outage must not drop the call: the conversation goes on, the error is logged."""
    try:
        await write
    except Exception as exc:
        log.error("store.write_failed", write=what, error=type(exc).__name__)


async def record_end(recorder: CallRecorder, spool: PayloadSpool, call: Call) -> Payload:
    """Seal the payload, spool it, then store it (and queue its webhooks).

    Storing is retried, since this is the one that counts, but only briefly when the spool
    has it: a database that is down must not hold the job. Should both fail, the newest
    snapshot is still stored (if the store took it): the orphan sweeper delivers that."""
    payload = call.finish("error")  # the sealed payload; "error" only if none was sealed
    return await record_payload(recorder, spool, payload, call.dial_failure)


async def record_payload(
    recorder: CallRecorder, spool: PayloadSpool, payload: Payload, failure: DialFailure | None
) -> Payload:
    """``record_end``'s second half, for a payload sealed some other way (a rejected job)."""
    entry = SpoolEntry(
        payload=payload,
        sip_status=failure.sip_status if failure else None,
        retryable=failure.retryable if failure else None,
    )
    spooled = await _spool(spool, entry)
    attempts = SPOOLED_STORE_ATTEMPTS if spooled else UNSPOOLED_STORE_ATTEMPTS
    for attempt in range(1, attempts + 1):
        try:
            stored = recorder.call_finished(
                payload, sip_status=entry.sip_status, retryable=entry.retryable
            )
            await asyncio.wait_for(stored, STORE_ATTEMPT_TIMEOUT)
        except Exception as exc:
            log.error(
                "payload.store_failed", attempt=attempt, spooled=spooled, error=type(exc).__name__
            )
            if attempt < attempts:
                await asyncio.sleep(attempt)
            continue
        if spooled:
            await _unspool(spool, payload.call_id)
        return payload
    if spooled:
        log.warning("payload.left_in_spool", call_id=payload.call_id)
    else:
        log.error("payload.not_stored", call_id=payload.call_id)
    return payload


async def _spool(spool: PayloadSpool, entry: SpoolEntry) -> bool:
    try:
        await asyncio.to_thread(spool.write, entry)
    except Exception as exc:  # a full or read-only disk: the store is then the only way
        log.error("spool.write_failed", error=type(exc).__name__)
        return False
    return True


async def _unspool(spool: PayloadSpool, call_id: str) -> None:
    try:
        await asyncio.to_thread(spool.remove, call_id)
    except Exception as exc:  # harmless: importing it again later is a no-op
        log.warning("spool.remove_failed", call_id=call_id, error=type(exc).__name__)


def payload_without_flow(
    info: CallInfo,
    flow: str,
    *,
    started_at: datetime,
    ended_at: datetime,
    summary: str | None = None,
) -> Payload:
    """A ``failed`` payload for a call whose flow could not be loaded: no steps to report;
    ``summary`` may say why (what was wrong, never a value)."""
    return Payload(
        job_id=info.job_id,
        room_id=info.room_id,
        room=info.room,
        started_at=timestamp(started_at),
        ended_at=timestamp(ended_at),
        summary=summary,
        results={},
        call_id=info.call_id,
        flow=flow,
        flow_version=UNKNOWN_VERSION,
        direction=info.direction,
        from_=info.from_,
        to=info.to,
        status="failed",
        ended_reason="error",
        fields={},
        transfer=None,
        metadata=info.metadata,
    )
