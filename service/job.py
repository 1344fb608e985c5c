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
from flows.spec import FlowSpec
from service.call_metrics import CallMetrics
from service.pipeline import Pipeline
from service.settings import Settings
from sip.dialing import Dialer, DialRequest, OutboundJob, dialable, parse_job_metadata
from sip.errors import SipError
from sip.keypad import attach_keypad
from sip.line import Line, until_someone_leaves
from sip.outcomes import UNANSWERED, DialFailure
from sip.routing import route_inbound, wait_for_sip_participant
from sip.silence import SilenceWatch
from sip.transfer import Transferer

log = structlog.get_logger("intake.job")

CALLEE_IDENTITY = "callee"
WRAP_UP_GRACE = 60.0  # seconds the goodbye may take once the maximum call duration is reached
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
    line: Callable[[JobContext], Line]
    clock: Clock = utc_now
    amd: bool = True


async def run_call_job(ctx: JobContext, ports: JobPorts) -> Payload | None:
    """Run the job's call to its end; returns the payload (None if the job was unusable).

    However the job ends, its line is hung up (unless a warm transfer left the caller with a
    person: then when one of them leaves) and its context is shut down, so no job process
    is left behind for the worker's drain to wait on."""
    job = _Job(ctx, ports)
    try:
        return await job.run()
    finally:
        if not job.bridged:  # a cancelled job must not cut off a caller talking to a person
            await ports.line(ctx).hang_up()
        ctx.shutdown(reason=job.end_reason)


class _Job:
    def __init__(self, ctx: JobContext, ports: JobPorts) -> None:
        self.ctx, self.ports = ctx, ports
        self.bridged = False  # a warm transfer connected: the room belongs to the humans
        self.end_reason = "call ended"

    def reject(self, event: str, reason: str, **keys: Any) -> None:
        log.error(event, job_id=self.ctx.job.id, reason=reason, **keys)
        self.end_reason = f"rejected: {reason}"

    async def run(self) -> Payload | None:
        try:
            outbound = parse_job_metadata(self.ctx.job.metadata)
        except SipError as exc:
            self.reject("job.rejected", str(exc))
            return None
        await self.ctx.connect()
        if outbound is None:
            return await self.inbound()
        return await self.outbound(outbound)

    async def inbound(self) -> Payload | None:
        ctx, settings = self.ctx, self.ports.settings
        caller = await wait_for_sip_participant(ctx.room)
        try:
            route = route_inbound(
                caller.attributes,
                settings.routes,
                settings.default_flow,
                region=settings.default_region,
            )
            spec = self.ports.catalog.load(route.flow)
        except (SipError, FlowError) as exc:
            self.reject("job.unroutable", str(exc))
            return None
        info = _info(ctx, new_call_id(), "inbound", route.caller, route.dialed, {})
        return await self.converse(spec, info, caller.identity, dial=None)

    async def outbound(self, job: OutboundJob) -> Payload | None:
        try:
            spec = self.ports.catalog.load(job.flow)
        except FlowError as exc:
            self.reject("job.unknown_flow", str(exc), call_id=job.call_id)
            return None
        info = _info(self.ctx, job.call_id, "outbound", job.from_, job.to, job.metadata)
        number = dialable(job.to, self.ports.settings.default_region)
        if isinstance(number, DialFailure):
            transferer = self.ports.transferer(self.ctx, CALLEE_IDENTITY)  # never used
            call = _call(self.ctx, self.ports, spec, info, CALLEE_IDENTITY, transferer)
            _not_connected(call, number)
            return await _record_end(self.ports.recorder, call)
        request = DialRequest(info.room, number, job.from_, CALLEE_IDENTITY)
        return await self.converse(spec, info, CALLEE_IDENTITY, dial=request)

    async def converse(
        self, spec: FlowSpec, info: CallInfo, identity: str, *, dial: DialRequest | None
    ) -> Payload:
        ctx, ports = self.ctx, self.ports
        transferer = ports.transferer(ctx, identity)
        call = _call(ctx, ports, spec, info, identity, transferer)
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
        caller_left = False

        def on_disconnected(participant: rtc.RemoteParticipant) -> None:
            nonlocal caller_left
            if participant.identity == identity:
                caller_left = True
                call.hangup()

        ctx.room.on("participant_disconnected", on_disconnected)
        ended = asyncio.Event()
        call.on_finished.append(lambda _payload: ended.set())
        metrics = CallMetrics(session)
        loop = asyncio.get_running_loop()
        limits = [
            loop.call_later(voice.max_call_duration, call.time_up),
            # should the wrap-up itself stall, the call still ends: no job outlives its call
            loop.call_later(voice.max_call_duration + WRAP_UP_GRACE, call.finish, "error"),
        ]
        progress = _Progress(ports.recorder, call, ports.settings.webhooks.heartbeat_interval)
        await progress.start()
        try:
            await ports.start_session(session, IntakeAgent(call), ctx, identity)
            if dial is not None:
                await _dial(session, pipeline, ports.dialer(ctx), call, dial, amd=ports.amd)
            await ended.wait()
        finally:
            for limit in limits:
                limit.cancel()
            ctx.room.off("participant_disconnected", on_disconnected)
            keypad.close()
            silence.stop()
            await session.aclose()
            await progress.stop()
            log.info("call.metrics", **metrics.summary())
        payload = await _record_end(ports.recorder, call)
        if transferer.keeps_room and payload.transfer and payload.transfer.outcome == "connected":
            self.bridged = True  # the agent is done; the caller and the human talk on
            how = await until_someone_leaves(ctx.room, already_left=caller_left)
            log.info("call.bridge_ended", how=how)
            self.bridged = False
        return payload


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


def _call(
    ctx: JobContext,
    ports: JobPorts,
    spec: FlowSpec,
    info: CallInfo,
    identity: str,
    transferer: Transferer,
) -> Call:
    call = Call(
        spec,
        info,
        transferer=transferer,
        region=ports.settings.default_region,
        transfer_to=ports.settings.transfer_to,
        clock=ports.clock,
    )
    structlog.contextvars.bind_contextvars(call_id=info.call_id)
    return call


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
