"""LiveKit's SIP trunks for the local server: inbound and outbound, listed, created,
updated (replace or field update) and deleted, as livekit-server answers
(:mod:`fakes.livekit_sip_admin` has the sources and the rules they share)."""

from __future__ import annotations

from typing import Any

from livekit.protocol import sip as pb

from fakes.livekit_sip_admin import (
    AdminBase,
    apply_list,
    go_quote,
    listed,
    media_rules,
    next_version,
    normalize,
    set_given,
    update_media,
    update_rules,
)
from fakes.twirp import TwirpError, invalid_unless, new_id, rpc

TRUNK_NOT_FOUND = TwirpError("not_found", "requested sip trunk does not exist")
OPEN_TRUNK = (
    "for security, one of the fields must be set: AuthUsername+AuthPassword,"
    " AllowedAddresses or Numbers"
)


class SipTrunks(AdminBase):
    """Inbound and outbound trunks; ``outbound_trunks`` is read by dials."""

    def __init__(self, **kwargs: Any) -> None:
        self.inbound_trunks: dict[str, pb.SIPInboundTrunkInfo] = {}
        self.outbound_trunks: dict[str, pb.SIPOutboundTrunkInfo] = {}
        super().__init__(**kwargs)

    @rpc("SIP", "CreateSIPInboundTrunk", "sip.admin")
    async def _create_inbound(self, req: pb.CreateSIPInboundTrunkRequest) -> pb.SIPInboundTrunkInfo:
        self._store()
        invalid_unless(
            (req.HasField("trunk"), "missing trunk"),
            (not req.trunk.sip_trunk_id, "trunk id must not be set"),
            *_inbound_rules(req.trunk),
        )
        trunk = pb.SIPInboundTrunkInfo()
        trunk.CopyFrom(req.trunk)  # the recorded request stays as it was received
        self._check_trunks(trunk)
        trunk.sip_trunk_id = new_id("ST_")
        self.inbound_trunks[trunk.sip_trunk_id] = trunk
        return trunk

    @rpc("SIP", "UpdateSIPInboundTrunk", "sip.admin")
    async def _update_inbound(self, req: pb.UpdateSIPInboundTrunkRequest) -> pb.SIPInboundTrunkInfo:
        action = self._update_action(req, req.sip_trunk_id, "trunk")
        if action == "replace":
            invalid_unless(*_inbound_rules(req.replace))
        else:
            invalid_unless(*update_rules(req.update, *_INBOUND_LISTS))
        trunk = next_version(self.inbound_trunks, req.sip_trunk_id, req, TRUNK_NOT_FOUND)
        if action == "update":
            diff = req.update
            for name in _INBOUND_LISTS:
                if diff.HasField(name):
                    apply_list(getattr(trunk, name), getattr(diff, name))
            set_given(
                trunk, diff, "auth_username", "auth_password", "auth_realm", "name", "metadata"
            )
            update_media(trunk, diff)
            invalid_unless((_inbound_secured(trunk), OPEN_TRUNK), psrpc=True)
        trunk.sip_trunk_id = req.sip_trunk_id
        self._check_trunks(trunk)
        self.inbound_trunks[trunk.sip_trunk_id] = trunk
        return trunk

    @rpc("SIP", "ListSIPInboundTrunk", "sip.admin")
    async def _list_inbound(
        self, req: pb.ListSIPInboundTrunkRequest
    ) -> pb.ListSIPInboundTrunkResponse:
        self._store()
        # ListSIPInboundTrunkRequest.Filter: a trunk without numbers serves every number;
        # numbers match as given or once both are normalised (NormalizeNumber).
        asked = {normalize(n) for n in req.numbers}

        def wanted(t: pb.SIPInboundTrunkInfo) -> bool:
            serves = {normalize(n) for n in t.numbers}
            named = not req.trunk_ids or t.sip_trunk_id in req.trunk_ids
            return named and (not asked or not serves or bool(asked & serves))

        items = listed(self.inbound_trunks.values(), req, "sip_trunk_id", wanted)
        return pb.ListSIPInboundTrunkResponse(items=items)

    def _check_trunks(self, changed: pb.SIPInboundTrunkInfo) -> None:
        """sip.ValidateTrunksIter over the stored trunks (by id), the changed one in its
        place or, when new, last: per called number, one trunk without allowed numbers,
        and no allowed number on two trunks."""
        others = [t for t in self.inbound_trunks.values() if t.sip_trunk_id != changed.sip_trunk_id]
        order = sorted([*others, changed] if changed.sip_trunk_id else others, key=_trunk_id)
        if not changed.sip_trunk_id:
            order.append(changed)
        buckets: dict[tuple[str, str], pb.SIPInboundTrunkInfo] = {}
        for trunk in order:
            for called in {normalize(n) for n in trunk.numbers} or {""}:
                callers = {normalize(n): n for n in trunk.allowed_numbers} or {"": ""}
                for caller, as_given in callers.items():
                    other = buckets.setdefault((called, caller), trunk)
                    if other is trunk:
                        continue
                    ids = f'"{trunk.sip_trunk_id or "<new>"}" and "{other.sip_trunk_id}"'
                    how = (
                        f'and AllowedNumber "{as_given}"'
                        if caller
                        else "without AllowedNumbers set"
                    )
                    raise TwirpError(
                        "invalid_argument",
                        f"Conflicting inbound SIP Trunks: {ids}, using the same number(s)"
                        f" {go_quote(trunk.numbers)} {how}",
                    )

    # --- outbound trunks ---

    @rpc("SIP", "CreateSIPOutboundTrunk", "sip.admin")
    async def _create_outbound(
        self, req: pb.CreateSIPOutboundTrunkRequest
    ) -> pb.SIPOutboundTrunkInfo:
        self._store()
        invalid_unless(
            (req.HasField("trunk"), "missing trunk"),
            (not req.trunk.sip_trunk_id, "trunk id must not be set"),
            *_outbound_rules(req.trunk),
        )
        trunk = pb.SIPOutboundTrunkInfo()
        trunk.CopyFrom(req.trunk)
        trunk.sip_trunk_id = new_id("ST_")
        self.outbound_trunks[trunk.sip_trunk_id] = trunk
        return trunk

    @rpc("SIP", "UpdateSIPOutboundTrunk", "sip.admin")
    async def _update_outbound(
        self, req: pb.UpdateSIPOutboundTrunkRequest
    ) -> pb.SIPOutboundTrunkInfo:
        action = self._update_action(req, req.sip_trunk_id, "trunk")
        if action == "replace":
            invalid_unless(*_outbound_rules(req.replace))
        else:
            invalid_unless(*update_rules(req.update, "numbers"))
        trunk = next_version(self.outbound_trunks, req.sip_trunk_id, req, TRUNK_NOT_FOUND)
        if action == "update":
            diff = req.update
            if diff.HasField("numbers"):
                apply_list(trunk.numbers, diff.numbers)
            set_given(trunk, diff, *_OUTBOUND_OPTIONAL)
            update_media(trunk, diff)
            for ok, msg in _outbound_rules(trunk):
                if not ok:
                    raise TwirpError("unknown", msg)  # a plain error from ApplyResult
        trunk.sip_trunk_id = req.sip_trunk_id
        self.outbound_trunks[trunk.sip_trunk_id] = trunk
        return trunk

    @rpc("SIP", "ListSIPOutboundTrunk", "sip.admin")
    async def _list_outbound(
        self, req: pb.ListSIPOutboundTrunkRequest
    ) -> pb.ListSIPOutboundTrunkResponse:
        self._store()
        # ListSIPOutboundTrunkRequest.Filter: unlike the inbound one, numbers match only
        # exactly as stored -- no NormalizeNumber.
        ids, numbers = set(req.trunk_ids), set(req.numbers)

        def wanted(t: pb.SIPOutboundTrunkInfo) -> bool:
            named = not ids or t.sip_trunk_id in ids
            return named and (not numbers or not t.numbers or bool(numbers & set(t.numbers)))

        items = listed(self.outbound_trunks.values(), req, "sip_trunk_id", wanted)
        return pb.ListSIPOutboundTrunkResponse(items=items)

    @rpc("SIP", "DeleteSIPTrunk", "sip.admin")
    async def _delete_trunk(self, req: pb.DeleteSIPTrunkRequest) -> pb.SIPTrunkInfo:
        self._store()
        invalid_unless((req.sip_trunk_id, "trunk ID is required"))
        self.inbound_trunks.pop(req.sip_trunk_id, None)  # HDEL: a missing id is no error
        self.outbound_trunks.pop(req.sip_trunk_id, None)
        return pb.SIPTrunkInfo(sip_trunk_id=req.sip_trunk_id)


_INBOUND_LISTS = ("numbers", "allowed_addresses", "allowed_numbers")


_OUTBOUND_OPTIONAL = (
    *("address", "transport", "destination_country", "auth_username", "auth_password"),
    *("name", "metadata", "from_host"),
)


def _trunk_id(trunk: pb.SIPInboundTrunkInfo) -> str:
    return trunk.sip_trunk_id


def _inbound_secured(trunk: pb.SIPInboundTrunkInfo) -> bool:
    has_auth = bool(trunk.auth_username or trunk.auth_password)
    return has_auth or bool(trunk.allowed_addresses) or bool(trunk.numbers)


def _inbound_rules(trunk: pb.SIPInboundTrunkInfo) -> list[tuple[object, str]]:
    """SIPInboundTrunkInfo.ValidateResult, in its order (headers not checked)."""
    return [(_inbound_secured(trunk), OPEN_TRUNK), *media_rules(trunk.media)]


def _outbound_rules(trunk: pb.SIPOutboundTrunkInfo) -> list[tuple[object, str]]:
    """SIPOutboundTrunkInfo.ValidateResult, in its order (headers not checked)."""
    return [
        (trunk.numbers, "no trunk numbers specified"),
        (trunk.address, "no outbound address specified"),
        *_hostname_rules(trunk.address, "trunk address"),
        *_hostname_rules(trunk.from_host, "from_host"),
        *media_rules(trunk.media),
    ]


def _hostname_rules(value: str, field: str) -> list[tuple[object, str]]:
    """validateHostnameFormat: a host name or IP, not a SIP URI (empty passes)."""
    uri = bool(set(value) & {"@", ";"}) or value.startswith(("sip:", "sips:"))
    return [
        ("transport=" not in value, f"{field} should not contain transport parameter"),
        (not uri, f"{field} should be a hostname or IP, not SIP URI"),
    ]
