"""The ports of a live call on LiveKit: dialing, transfers, the line, the session in the room.

Resolved from settings once per job. ``auto`` settings follow the server: LiveKit Cloud
has ``MoveParticipant`` (warm transfers can merge) and Krisp noise cancellation; a
self-hosted server has neither, so transfers there are cold (SIP REFER).
"""

from __future__ import annotations

from typing import Any, Literal

from livekit import api, rtc
from livekit.agents import AgentSession, JobContext
from livekit.agents.utils import http_context
from livekit.agents.utils.misc import is_cloud
from livekit.agents.voice import room_io

from flows.agent.root import IntakeAgent
from flows.engine.outcomes import DialFailure
from flows.engine.ports import CallRecorder, Dialer, DialRequest, Transferer
from flows.spec.catalog import FlowCatalog
from service.errors import ConfigError
from service.job import JobPorts
from service.job_store import PayloadSpool
from service.pipeline import build_pipeline
from service.settings import Settings
from sip.dialing import LiveKitDialer
from sip.line import RoomLine
from sip.transfer import ColdTransferer
from sip.warm_transfer import HUMAN_ROOM_SUFFIX, WarmTransferer

TransferMode = Literal["warm", "cold"]


def transfer_mode(settings: Settings) -> TransferMode:
    mode = settings.voice.transfer_mode
    if mode == "auto":
        return "warm" if is_cloud(settings.livekit.url or "") else "cold"
    return mode


def noise_cancellation(settings: Settings) -> Any | None:
    """Krisp's telephony model where LiveKit offers it (Cloud), if the plugin is installed
    (the ``noise-cancellation`` extra); ``on`` without the plugin is a configuration error."""
    wanted = settings.voice.noise_cancellation
    if wanted == "off" or (wanted == "auto" and not is_cloud(settings.livekit.url or "")):
        return None
    try:
        from livekit.plugins import noise_cancellation as krisp  # type: ignore[attr-defined]
    except ImportError:
        if wanted == "on":
            raise ConfigError(
                "INTAKE_VOICE__NOISE_CANCELLATION=on needs the plugin: "
                "pip install 'intake[noise-cancellation]'"
            ) from None
        return None
    return krisp.BVCTelephony()


def room_options(settings: Settings, identity: str) -> room_io.RoomOptions:
    """The session listens to the caller's SIP leg only, and closes when it hangs up."""
    return room_io.RoomOptions(
        participant_identity=identity,
        participant_kinds=[rtc.ParticipantKind.PARTICIPANT_KIND_SIP],
        close_on_disconnect=True,
        delete_room_on_close=False,  # the job hangs up itself, but not after a warm transfer
        audio_input=room_io.AudioInputOptions(noise_cancellation=noise_cancellation(settings)),
    )


def sip_api() -> api.LiveKitAPI:
    """The job's API client for calls that ring a phone: no Cloud failover retries, which
    would resend a CreateSIPParticipant or a REFER that timed out and ring someone twice.
    (``JobContext.api`` is the same client with failover on.)"""
    return api.LiveKitAPI(session=http_context.http_session(), failover=False)


class _NoTrunk:
    async def dial(self, request: DialRequest) -> DialFailure | None:
        return DialFailure("failed", False, None, "no outbound SIP trunk configured")


def live_ports(
    settings: Settings, catalog: FlowCatalog, vad: Any, recorder: CallRecorder, spool: PayloadSpool
) -> JobPorts:
    livekit, voice = settings.livekit, settings.voice
    mode = transfer_mode(settings)

    def dialer(ctx: JobContext) -> Dialer:
        if not livekit.sip_outbound_trunk:
            return _NoTrunk()
        return LiveKitDialer(
            sip_api(), trunk_id=livekit.sip_outbound_trunk, ringing_timeout=livekit.ringing_timeout
        )

    def transferer(ctx: JobContext, identity: str) -> Transferer:
        if mode == "cold":
            return ColdTransferer(
                sip_api(),
                room_name=ctx.room.name,
                participant_identity=identity,
                ringing_timeout=livekit.ringing_timeout,
            )
        return WarmTransferer(
            trunk_id=livekit.sip_outbound_trunk,
            ringing_timeout=livekit.ringing_timeout,
            time_limit=voice.transfer_timeout,
            human_room=RoomLine(ctx.api, ctx.room.name + HUMAN_ROOM_SUFFIX),
        )

    async def start_in_room(
        session: AgentSession[None], agent: IntakeAgent, ctx: JobContext, identity: str
    ) -> None:
        await session.start(
            agent=agent,
            room=ctx.room,
            room_options=room_options(settings, identity),
            record=voice.record,  # explicit: never the project's default, answers are sensitive
        )

    return JobPorts(
        settings=settings,
        catalog=catalog,
        pipeline=lambda collector: build_pipeline(settings, collector, vad),
        dialer=dialer,
        transferer=transferer,
        start_session=start_in_room,
        recorder=recorder,
        spool=spool,
        line=lambda ctx: RoomLine(ctx.api, ctx.job.room.name or ctx.room.name),
        amd=voice.answering_machine_detection,
    )
