"""The telephony port on LiveKit's SIP admin API, through livekit-api (never livekit.agents).

Updates replace the whole object (``Update*(replace=...)``): livekit-api 1.2.2's field
updates (``update_*_fields``) cannot set Krisp on a trunk, nor a dispatch rule's numbers
and room configuration, and these objects are ours whole. Lists come back complete
(livekit-server pages through its store itself), sorted by id.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator

from livekit import api
from livekit.protocol import agent_dispatch
from livekit.protocol import room as room_pb
from livekit.protocol import sip as sip_pb
from pydantic import ValidationError

from sip.dispatch import InboundDispatch
from sip.errors import LiveKitRefusal
from sip.livekit_errors import LIVEKIT_UNREACHABLE
from sip.provisioning_state import (
    DispatchRule,
    Existing,
    InboundTrunk,
    Kind,
    OutboundTrunk,
    Owned,
    Record,
    Transport,
    kept,
    marker,
    read_marker,
)

TRANSPORTS: dict[Transport, sip_pb.SIPTransport] = {
    "auto": sip_pb.SIP_TRANSPORT_AUTO,
    "udp": sip_pb.SIP_TRANSPORT_UDP,
    "tcp": sip_pb.SIP_TRANSPORT_TCP,
    "tls": sip_pb.SIP_TRANSPORT_TLS,
}


class LiveKitTelephony:
    def __init__(self, lkapi: api.LiveKitAPI, *, url: str) -> None:
        self._sip = lkapi.sip
        self._url = url

    async def read(self) -> Existing:
        with self._calling():
            inbound = await self._sip.list_inbound_trunk(api.ListSIPInboundTrunkRequest())
            outbound = await self._sip.list_outbound_trunk(api.ListSIPOutboundTrunkRequest())
            rules = await self._sip.list_dispatch_rule(api.ListSIPDispatchRuleRequest())
        ours_in = [
            Owned(t.sip_trunk_id, inbound_record(t, fields))
            for t in inbound.items
            if (fields := read_marker(t.metadata)) is not None
        ]
        ours_out = [
            Owned(t.sip_trunk_id, outbound_record(t, fields))
            for t in outbound.items
            if (fields := read_marker(t.metadata)) is not None
        ]
        trunk_names = {owned.id: name for name, owned in kept(ours_in).items()}
        ours_rules = [
            Owned(r.sip_dispatch_rule_id, rule_record(r, trunk_names))
            for r in rules.items
            if read_marker(r.metadata) is not None
        ]
        total = len(inbound.items) + len(outbound.items) + len(rules.items)
        return Existing(
            inbound=tuple(ours_in),
            outbound=tuple(ours_out),
            rules=tuple(ours_rules),
            foreign=total - len(ours_in) - len(ours_out) - len(ours_rules),
        )

    async def create(self, record: Record, trunk_id: str | None) -> str:
        with self._calling():
            match record:
                case InboundTrunk():
                    made = await self._sip.create_inbound_trunk(
                        api.CreateSIPInboundTrunkRequest(trunk=inbound_info(record))
                    )
                    return made.sip_trunk_id
                case OutboundTrunk():
                    out = await self._sip.create_outbound_trunk(
                        api.CreateSIPOutboundTrunkRequest(trunk=outbound_info(record))
                    )
                    return out.sip_trunk_id
                case DispatchRule():
                    rule = await self._sip.create_dispatch_rule(
                        api.CreateSIPDispatchRuleRequest(dispatch_rule=rule_info(record, trunk_id))
                    )
                    return rule.sip_dispatch_rule_id

    async def update(self, object_id: str, record: Record, trunk_id: str | None) -> None:
        with self._calling():
            match record:
                case InboundTrunk():
                    await self._sip.update_inbound_trunk(object_id, inbound_info(record))
                case OutboundTrunk():
                    await self._sip.update_outbound_trunk(object_id, outbound_info(record))
                case DispatchRule():
                    await self._sip.update_dispatch_rule(object_id, rule_info(record, trunk_id))

    async def delete(self, kind: Kind, object_id: str) -> None:
        with self._calling():
            if kind == "dispatch rule":
                await self._sip.delete_dispatch_rule(
                    api.DeleteSIPDispatchRuleRequest(sip_dispatch_rule_id=object_id)
                )
            else:
                await self._sip.delete_trunk(api.DeleteSIPTrunkRequest(sip_trunk_id=object_id))

    @contextlib.contextmanager
    def _calling(self) -> Iterator[None]:
        """LiveKit's errors and the network's, as one line; the server's own words kept
        (they name the conflicting trunk or rule), never a secret of ours."""
        try:
            yield
        except api.ServerError as exc:
            said = f"HTTP {exc.status} {exc.code}" + (f": {exc.message}" if exc.message else "")
            if exc.status == 401:
                raise LiveKitRefusal(
                    f"LiveKit at {self._url} refused INTAKE_LIVEKIT__API_KEY and"
                    f" INTAKE_LIVEKIT__API_SECRET (they need the SIP admin grant; {said})",
                    retryable=False,
                ) from None
            retryable = exc.status >= 500 or exc.status in (408, 429)
            raise LiveKitRefusal(f"LiveKit answered {said}", retryable=retryable) from None
        except LIVEKIT_UNREACHABLE as exc:
            why = str(exc) or exc.__class__.__name__
            raise LiveKitRefusal(
                f"cannot reach LiveKit at {self._url} (INTAKE_LIVEKIT__URL): {why}",
                retryable=True,
            ) from None


def inbound_info(record: InboundTrunk) -> sip_pb.SIPInboundTrunkInfo:
    return sip_pb.SIPInboundTrunkInfo(
        name=record.name,
        metadata=marker(record.password_env),
        numbers=record.numbers,
        allowed_addresses=record.allowed_addresses,
        allowed_numbers=record.allowed_numbers,
        auth_username=record.auth_username,
        auth_password=record.auth_password,
        krisp_enabled=record.krisp,
    )


def inbound_record(info: sip_pb.SIPInboundTrunkInfo, fields: dict[str, str]) -> InboundTrunk:
    return InboundTrunk(
        name=info.name,
        numbers=tuple(sorted(info.numbers)),
        allowed_addresses=tuple(sorted(info.allowed_addresses)),
        allowed_numbers=tuple(sorted(info.allowed_numbers)),
        auth_username=info.auth_username,
        auth_password=info.auth_password,
        password_env=fields.get("password_env", ""),
        krisp=info.krisp_enabled,
    )


def outbound_info(record: OutboundTrunk) -> sip_pb.SIPOutboundTrunkInfo:
    return sip_pb.SIPOutboundTrunkInfo(
        name=record.name,
        metadata=marker(record.password_env),
        address=record.address,
        transport=TRANSPORTS[record.transport],
        numbers=record.numbers,
        auth_username=record.auth_username,
        auth_password=record.auth_password,
    )


def outbound_record(info: sip_pb.SIPOutboundTrunkInfo, fields: dict[str, str]) -> OutboundTrunk:
    transport: Transport = next((k for k, v in TRANSPORTS.items() if v == info.transport), "auto")
    return OutboundTrunk(
        name=info.name,
        address=info.address,
        numbers=tuple(sorted(info.numbers)),
        transport=transport,
        auth_username=info.auth_username,
        auth_password=info.auth_password,
        password_env=fields.get("password_env", ""),
    )


def rule_info(record: DispatchRule, trunk_id: str | None) -> sip_pb.SIPDispatchRuleInfo:
    """A room of its own per caller (individual dispatch), bound to the trunk and the
    called number, dispatching the agent with the flow in its metadata."""
    agent = agent_dispatch.RoomAgentDispatch(
        agent_name=record.agent_name, metadata=InboundDispatch(flow=record.flow).to_metadata()
    )
    return sip_pb.SIPDispatchRuleInfo(
        name=record.name,
        metadata=marker(),
        rule=sip_pb.SIPDispatchRule(
            dispatch_rule_individual=sip_pb.SIPDispatchRuleIndividual(
                room_prefix=record.room_prefix
            )
        ),
        trunk_ids=[trunk_id] if trunk_id else [],
        numbers=[record.number],
        room_config=room_pb.RoomConfiguration(agents=[agent]),
    )


def rule_record(info: sip_pb.SIPDispatchRuleInfo, trunk_names: dict[str, str]) -> DispatchRule:
    """What a rule of ours holds; anything not in the shape :func:`rule_info` writes comes
    out as a value no file asks for, so the rule is replaced."""
    trunks = [trunk_names.get(trunk_id) for trunk_id in info.trunk_ids]
    agents = list(info.room_config.agents)
    flow, agent_name = "", ""
    if len(agents) == 1:
        agent_name = agents[0].agent_name
        with contextlib.suppress(ValueError, ValidationError):
            flow = InboundDispatch.model_validate(json.loads(agents[0].metadata)).flow
    individual = info.rule.WhichOneof("rule") == "dispatch_rule_individual"
    return DispatchRule(
        name=info.name,
        trunk=trunks[0] if len(trunks) == 1 else None,
        number=info.numbers[0] if len(info.numbers) == 1 else "",
        flow=flow,
        agent_name=agent_name,
        room_prefix=info.rule.dispatch_rule_individual.room_prefix if individual else "",
    )
