"""The payload of a requested call that no worker ever ran: status ``failed``, ended_reason
``error``, every step and field of its flow present and not collected.

Built with the flow's own ``Call`` (the same ending a worker seals), so it has the shape of
any payload; nothing here imports livekit.agents. A flow no longer in the catalog still
gets a payload, with empty results.
"""

from __future__ import annotations

from datetime import datetime

from flows.engine.call import Call, CallInfo
from flows.engine.json_types import JsonObject
from flows.engine.payload import Payload, timestamp
from flows.errors import FlowError
from flows.spec.catalog import FlowCatalog
from flows.testing.callers import ScriptedTransferer
from service.job_store import UNKNOWN_VERSION, payload_without_flow
from service.scheduler.dispatch import Dispatch

__all__ = ["UNKNOWN_VERSION", "UnconnectedPayloads", "dialled_call_info"]


class UnconnectedPayloads:
    """``UnconnectedPayload`` for the store: ``(job, started_at, ended_at) -> Payload``."""

    def __init__(self, catalog: FlowCatalog, *, region: str = "US") -> None:
        self._catalog, self._region = catalog, region

    def __call__(self, job: Dispatch, started_at: datetime, ended_at: datetime) -> Payload:
        info = dialled_call_info(job)
        try:
            spec = self._catalog.load(job.flow)
        except FlowError:
            return _without_flow(info, job.flow, started_at, ended_at)
        call = Call(
            spec,
            info,
            transferer=ScriptedTransferer(outcome="failed"),  # never asked: nobody answered
            region=self._region,
            clock=lambda: ended_at,
        )
        payload = call.finish("error", status="failed")
        return payload.model_copy(update={"started_at": timestamp(started_at)})


def dialled_call_info(
    job: Dispatch, *, job_id: str = "", room_id: str = "", metadata: JsonObject | None = None
) -> CallInfo:
    """Who and where a dispatched dial is; ``job_id`` and ``room_id`` are the job's and the
    room's (none for a dial no worker took), ``metadata`` the call's own by default."""
    return CallInfo(
        call_id=job.call_id,
        direction="outbound",
        from_=job.from_,
        to=job.to,
        job_id=job_id,
        room_id=room_id,
        room=job.room,
        metadata=job.metadata if metadata is None else metadata,
    )


def _without_flow(info: CallInfo, flow: str, started_at: datetime, ended_at: datetime) -> Payload:
    return payload_without_flow(info, flow, started_at=started_at, ended_at=ended_at)
