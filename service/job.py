"""One LiveKit job = one phone call, inbound or outbound, from answer to payload.

Inbound: the caller's SIP participant names the dialed number, which picks the flow.
Outbound: the job metadata names the callee and the flow; the session starts first,
then the callee is dialed (the store hears when they pick up) and, if a machine answers, a
voicemail is left. A callee who asks not to be called again is put on the do-not-call list
at once (``service.job_store.Progress``).
Either way the call ends with exactly one payload: spooled, then stored
(``service.job_store``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import structlog
from livekit import rtc
from livekit.agents import AgentSession, JobContext
from livekit.agents.voice.amd import AMD

from flows.agent.root import IntakeAgent
from flows.engine.call import Call, CallInfo
from flows.engine.clock import Clock, utc_now
from flows.engine.collector import Collector
from flows.engine.ids import new_call_id
from flows.engine.json_types import JsonObject
from flows.engine.outcomes import UNANSWERED, DialFailure, Direction
from flows.engine.payload import Payload
from flows.engine.ports import CallRecorder, Dialer, DialRequest, Transferer
from flows.errors import IntakeError
from flows.spec.catalog import FlowCatalog
from flows.spec.flow import FlowSpec
from service.call_metrics import CallMetrics
from service.job_store import (
    PayloadSpool,
    Progress,
    payload_without_flow,
    record_end,
    record_payload,
)
from service.pipeline import Pipeline
from service.settings import Settings
from sip.dialing import (
    OutboundJob,
    SalvagedJob,
    dialable,
    parse_job_metadata,
    salvage_job_metadata,
)
from sip.dispatch import InboundDispatch
from sip.dtmf import attach_keypad
from sip.line import Line, until_someone_leaves
from sip.routing import route_inbound, wait_for_sip_participant
from sip.silence import SilenceWatch

log = structlog.get_logger("intake.job")

CALLEE_IDENTITY = "callee"
WRAP_UP_GRACE = 60.0  # seconds the goodbye may take once the maximum call duration is reached


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
    spool: PayloadSpool  # the payload's first, durable stop, before the recorder
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
            job = parse_job_metadata(self.ctx.job.metadata)
        except IntakeError as exc:
            self.reject("job.rejected", str(exc))
            salvaged = salvage_job_metadata(self.ctx.job.metadata)
            return None if salvaged is None else await self.not_placed(salvaged, str(exc))
        await self.ctx.connect()
        if job is None or isinstance(job, InboundDispatch):
            return await self.inbound(job)
        return await self.outbound(job)

    async def inbound(self, dispatch: InboundDispatch | None) -> Payload | None:
        ctx, settings = self.ctx, self.ports.settings
        caller = await wait_for_sip_participant(ctx.room)
        try:
            route = route_inbound(
                caller.attributes,
                settings.routes,
                settings.default_flow,
                region=settings.default_region,
                dispatched_flow=dispatch.flow if dispatch else None,
            )
            spec = self.ports.catalog.load(route.flow)
        except IntakeError as exc:
            self.reject("job.unroutable", str(exc))
            return None
        info = _info(ctx, new_call_id(), "inbound", route.caller, route.dialed, {})
        return await self.converse(spec, info, caller.identity, dial=None)

    async def outbound(self, job: OutboundJob) -> Payload | None:
        try:
            spec = self.ports.catalog.load(job.flow)
        except IntakeError as exc:
            self.reject("job.unknown_flow", str(exc), call_id=job.call_id)
            salvaged = SalvagedJob(job.call_id, job.flow, job.to, job.from_, job.metadata)
            return await self.not_placed(salvaged, str(exc))
        info = _info(self.ctx, job.call_id, "outbound", job.from_, job.to, job.metadata)
        number = dialable(job.to, self.ports.settings.default_region)
        if isinstance(number, DialFailure):
            call = _call(self.ctx, self.ports, spec, info, CALLEE_IDENTITY)
            _not_connected(call, number)
            return await record_end(self.ports.recorder, self.ports.spool, call)
        request = DialRequest(info.room, number, job.from_, CALLEE_IDENTITY)
        return await self.converse(spec, info, CALLEE_IDENTITY, dial=request)

    async def not_placed(self, job: SalvagedJob, reason: str) -> Payload:
        """A rejected outbound job that names its call still ends in a ``failed`` payload,
        the reason in its summary, so whoever asked for the call hears back."""
        info = _info(self.ctx, job.call_id, "outbound", job.from_, job.to, job.metadata)
        failure = DialFailure("failed", retryable=False, reason=reason)
        try:
            spec = self.ports.catalog.load(job.flow) if job.flow else None
        except IntakeError:
            spec = None
        summary = f"The call was not placed: {reason}"
        if spec is None:
            now = self.ports.clock()
            flow = job.flow or "unknown"
            payload = payload_without_flow(
                info, flow, started_at=now, ended_at=now, summary=summary
            )
        else:
            call = _call(self.ctx, self.ports, spec, info, CALLEE_IDENTITY)
            payload = _not_connected(call, failure).model_copy(update={"summary": summary})
        return await record_payload(self.ports.recorder, self.ports.spool, payload, failure)

    async def converse(
        self, spec: FlowSpec, info: CallInfo, identity: str, *, dial: DialRequest | None
    ) -> Payload:
        ctx, ports = self.ctx, self.ports
        call = _call(ctx, ports, spec, info, identity)
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
        progress = Progress(ports.recorder, call, ports.settings.webhooks.heartbeat_interval)
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
        payload = await record_end(ports.recorder, ports.spool, call)
        bridged = payload.transfer is not None and payload.transfer.outcome == "connected"
        if bridged and call.transferer.keeps_room:
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
    metadata: JsonObject,
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


def _call(ctx: JobContext, ports: JobPorts, spec: FlowSpec, info: CallInfo, identity: str) -> Call:
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
            call.answered_by_callee()
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
        call.answered_by_callee()  # a person or a machine: the store hears it either way
        verdict = await detector.execute()
    if verdict.is_machine:
        if call.spec.voicemail_message:
            await session.say(call.spec.voicemail_message, allow_interruptions=False)
        call.finish("voicemail", status="voicemail")
        return
    call.answered.set()


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
