"""One LiveKit job = one phone call, inbound or outbound, from answer to payload.

Inbound: the caller's SIP participant names the dialed number, which picks the flow.
Outbound: the job metadata names the callee and the flow; the session starts first,
then the callee is dialed and, if a machine answers, a voicemail is left.
Either way the call ends with exactly one payload, handed to ``deliver``.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import structlog
from livekit import rtc
from livekit.agents import AgentSession, JobContext
from livekit.agents.voice.amd import AMD

from flows.agent import IntakeAgent
from flows.call import Call, CallInfo, Clock, utc_now
from flows.catalog import FlowCatalog
from flows.collector import Collector
from flows.errors import FlowError
from flows.ids import new_call_id
from flows.payload import Direction, Payload
from service.pipeline import Pipeline
from service.settings import Settings
from sip.dialing import Dialer, DialRequest, OutboundJob, dialable, parse_job_metadata
from sip.errors import SipError
from sip.keypad import attach_keypad
from sip.outcomes import UNANSWERED, DialFailure
from sip.routing import route_inbound, wait_for_sip_participant
from sip.silence import SilenceWatch
from sip.transfer import Transferer

log = structlog.get_logger("intake.job")

CALLEE_IDENTITY = "callee"
WORKER_ID = f"{socket.gethostname()}:{os.getpid()}"


class CallRecorder(Protocol):
    """Where a call's progress and payload go (``service.store.CallStore``)."""

    async def call_started(self, snapshot: Payload, *, worker_id: str) -> None: ...
    async def step_completed(self, call_id: str, step_id: str, snapshot: Payload) -> None: ...
    async def heartbeat(self, call_id: str) -> None: ...
    async def call_finished(
        self, payload: Payload, *, sip_status: int | None = None, retryable: bool | None = None
    ) -> None: ...


@dataclass
class JobPorts:
    """What a call job needs from the outside world; the worker wires real ones."""

    settings: Settings
    catalog: FlowCatalog
    pipeline: Callable[[Collector], Pipeline]
    dialer: Callable[[JobContext], Dialer]
    transferer: Callable[[JobContext, str], Transferer]  # (job, caller identity)
    start_session: Callable[[AgentSession[None], IntakeAgent, JobContext, str], Awaitable[None]]
    recorder: CallRecorder
    clock: Clock = utc_now
    amd: bool = True


async def run_call_job(ctx: JobContext, ports: JobPorts) -> Payload | None:
    """Run the job's call to its end; returns the payload (None if the job was unusable)."""
    try:
        outbound = parse_job_metadata(ctx.job.metadata)
    except SipError as exc:
        log.error("job.rejected", job_id=ctx.job.id, reason=str(exc))
        return None
    await ctx.connect()
    if outbound is None:
        return await _inbound(ctx, ports)
    return await _outbound(ctx, ports, outbound)


async def _inbound(ctx: JobContext, ports: JobPorts) -> Payload | None:
    settings = ports.settings
    caller = await wait_for_sip_participant(ctx.room)
    try:
        route = route_inbound(
            caller.attributes,
            settings.routes,
            settings.default_flow,
            region=settings.default_region,
        )
        spec = ports.catalog.load(route.flow)
    except (SipError, FlowError) as exc:
        log.error("job.unroutable", job_id=ctx.job.id, reason=str(exc))
        return None
    info = _info(ctx, new_call_id(), "inbound", route.caller, route.dialed, {})
    call = _call(ctx, ports, spec, info, caller.identity)
    return await _converse(ctx, ports, call, caller.identity, dial=None)


async def _outbound(ctx: JobContext, ports: JobPorts, job: OutboundJob) -> Payload | None:
    try:
        spec = ports.catalog.load(job.flow)
    except FlowError as exc:
        log.error("job.unknown_flow", job_id=ctx.job.id, call_id=job.call_id, reason=str(exc))
        return None
    info = _info(ctx, job.call_id, "outbound", job.from_, job.to, job.metadata)
    call = _call(ctx, ports, spec, info, CALLEE_IDENTITY)
    number = dialable(job.to, ports.settings.default_region)
    if isinstance(number, DialFailure):
        _not_connected(call, number)
        return await _record_end(ports.recorder, call)
    request = DialRequest(info.room, number, job.from_, CALLEE_IDENTITY)
    return await _converse(ctx, ports, call, CALLEE_IDENTITY, dial=request)


def _info(
    ctx: JobContext,
    call_id: str,
    direction: Direction,
    from_: str | None,
    to: str | None,
    metadata: dict[str, Any],
) -> CallInfo:
    return CallInfo(
        call_id=call_id,
        direction=direction,
        from_=from_,
        to=to,
        job_id=ctx.job.id,
        room_id=ctx.job.room.sid,
        room=ctx.job.room.name or ctx.room.name,
        metadata=metadata,
    )


def _call(ctx: JobContext, ports: JobPorts, spec: Any, info: CallInfo, identity: str) -> Call:
    call = Call(
        spec,
        info,
        transferer=ports.transferer(ctx, identity),
        region=ports.settings.default_region,
        transfer_to=ports.settings.transfer_to,
        clock=ports.clock,
    )
    structlog.contextvars.bind_contextvars(call_id=info.call_id)
    return call


async def _converse(
    ctx: JobContext, ports: JobPorts, call: Call, identity: str, *, dial: DialRequest | None
) -> Payload:
    voice = ports.settings.voice
    pipeline = ports.pipeline(call.collector)
    session = pipeline.session()
    silence = SilenceWatch(session, call.silence, timeout=voice.no_input_timeout)

    keypad = attach_keypad(
        ctx.room,
        call.keypad,
        call.keypad_entry_length,
        inter_digit_timeout=voice.inter_digit_timeout,
        on_key=silence.heard,
    )

    def on_disconnected(participant: rtc.RemoteParticipant) -> None:
        if participant.identity == identity:
            call.hangup()

    ctx.room.on("participant_disconnected", on_disconnected)
    ended = asyncio.Event()
    call.on_finished.append(lambda _payload: ended.set())
    progress = _Progress(ports.recorder, call, ports.settings.webhooks.heartbeat_interval)
    await progress.start()
    try:
        await ports.start_session(session, IntakeAgent(call), ctx, identity)
        if dial is not None:
            await _dial(session, pipeline, ports.dialer(ctx), call, dial, amd=ports.amd)
        await ended.wait()
    finally:
        ctx.room.off("participant_disconnected", on_disconnected)
        keypad.close()
        silence.stop()
        await session.aclose()
        await progress.stop()
    return await _record_end(ports.recorder, call)


async def _dial(
    session: AgentSession[None],
    pipeline: Pipeline,
    dialer: Dialer,
    call: Call,
    request: DialRequest,
    *,
    amd: bool,
) -> None:
    """Ring the callee; on an answer by a person let the agent speak, else end the call."""
    if not amd or pipeline.cloud_llm is None:
        failure = await dialer.dial(request)
        if failure is None:
            call.answered.set()
        else:
            _not_connected(call, failure)
        return
    # AMD listens from before the answer; it holds the agent's speech until it decides.
    async with AMD(session, llm=pipeline.cloud_llm, stt=None) as detector:
        failure = await dialer.dial(request)
        if failure is not None:
            _not_connected(call, failure)
            return
        verdict = await detector.execute()
    if verdict.is_machine:
        if call.spec.voicemail_message:
            await session.say(call.spec.voicemail_message, allow_interruptions=False)
        call.finish("voicemail", status="voicemail")
        return
    call.answered.set()


class _Progress:
    """Each step's result stored as it completes, and a heartbeat while the call lives, so
    that a worker dying mid-call still leaves a payload for the orphan sweeper."""

    def __init__(self, recorder: CallRecorder, call: Call, interval: float) -> None:
        self._recorder, self._call, self._interval = recorder, call, interval
        self._writes: set[asyncio.Task[None]] = set()
        self._beating: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await _store(
            "call_started", self._recorder.call_started(self._call.snapshot(), worker_id=WORKER_ID)
        )
        self._call.on_step_completed.append(self._step_completed)
        self._beating = asyncio.create_task(self._beat(), name="call-heartbeat")

    def _step_completed(self, step_id: str) -> None:
        snapshot = self._call.snapshot()
        write = self._recorder.step_completed(self._call.info.call_id, step_id, snapshot)
        task = asyncio.create_task(_store("step_completed", write))
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            await _store("heartbeat", self._recorder.heartbeat(self._call.info.call_id))

    async def stop(self) -> None:
        if self._beating is not None:
            self._beating.cancel()
        await asyncio.gather(*self._writes)


async def _store(what: str, write: Awaitable[None]) -> None:
    """A store outage must not drop the call: the conversation goes on, the error is logged."""
    try:
        await write
    except Exception as exc:
        log.error("store.write_failed", write=what, error=type(exc).__name__)


async def _record_end(recorder: CallRecorder, call: Call) -> Payload:
    """Store the payload (and queue its webhooks); retried, since this is the one that counts.

    Should the store stay down, the newest snapshot is already stored: the orphan sweeper
    delivers it once the heartbeats stop."""
    payload = call.finish("error")  # the sealed payload; "error" only if none was sealed
    failure = call.dial_failure
    for attempt in range(1, 4):
        try:
            await recorder.call_finished(
                payload,
                sip_status=failure.sip_status if failure else None,
                retryable=failure.retryable if failure else None,
            )
            return payload
        except Exception as exc:
            log.error("payload.store_failed", attempt=attempt, error=type(exc).__name__)
            await asyncio.sleep(attempt)
    return payload


def _not_connected(call: Call, failure: DialFailure) -> Payload:
    log.info(
        "call.dial_failed",
        outcome=failure.outcome,
        sip_status=failure.sip_status,
        retryable=failure.retryable,
        reason=failure.reason,
    )
    call.dial_failure = failure
    status, reason = UNANSWERED[failure.outcome]
    return call.finish(reason, status=status)
