"""LiveKit's SIP admin API for the local server: trunks and dispatch rules, listed, created,
updated (replace or field update) and deleted.

From livekit-server ``pkg/service/sip.go`` and ``redisstore_sip.go`` and livekit/protocol
``livekit/sip.go`` (the ``Validate*``/``Apply*`` methods), ``livekit/types.go`` (``ListUpdate``)
and ``sip/sip.go`` (``ValidateTrunksIter``, ``DispatchRuleValidator``), with their messages:

* What ``Validate`` rejects is a Twirp ``invalid_argument`` with the message as it is; so
  are conflicts between inbound trunks (a number served twice without ``allowed_numbers``)
  and between dispatch rules (the same trunk, caller, called number and PIN).
* A missing object on update is ``not_found`` "requested sip trunk does not exist" (no
  prefix); deleting a trunk that does not exist succeeds (Redis ``HDEL``); deleting a
  missing dispatch rule is ``not_found``.
* A field update that leaves an inbound trunk open fails after the load, as a psrpc error,
  hence relayed; other errors of an update's ``Apply`` are plain Go errors: ``unknown``.
* Without Redis (``sip_store`` False) every call answers ``ErrSIPNotConnected``, relayed.
* Lists are complete and sorted by id; a created dispatch rule gains an empty ``media``
  (``SIPDispatchRuleInfo.Upgrade``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from livekit.protocol import models
from livekit.protocol import sip as pb

from fakes.twirp import TwirpError, invalid_unless, new_id, relayed, rpc

TRUNK_NOT_FOUND = TwirpError("not_found", "requested sip trunk does not exist")
RULE_NOT_FOUND = TwirpError("not_found", "requested sip dispatch rule does not exist")
NOT_CONNECTED = relayed("internal", "sip not connected (redis required)")
OPEN_TRUNK = (
    "for security, one of the fields must be set: AuthUsername+AuthPassword,"
    " AllowedAddresses or Numbers"
)
_NUMBER = re.compile(r"^\+?[\d\- ()]+$")


def normalize(number: str) -> str:
    """livekit.NormalizeNumber: formatting dropped, a leading + added."""
    if not number or not _NUMBER.match(number):
        return number
    number = re.sub(r"[ \-()]", "", number)
    return number if number.startswith("+") else "+" + number


def _go_quote(values: Iterable[str]) -> str:
    """fmt's %q of a []string (printNumbers): ["a" "b"], or <any> when empty."""
    values = list(values)
    return "[" + " ".join(f'"{v}"' for v in values) + "]" if values else "<any>"


def _list_update(update: models.ListUpdate) -> str | None:
    """ListUpdate.Validate's complaint, if any."""
    change = len(update.set) + len(update.add) + len(update.remove) > 0
    if not update.clear and not change:
        return "unsupported list update operation"
    if update.clear and change:
        return "cannot clear and change the list at the same time"
    if update.set and (update.add or update.remove):
        return "cannot set and change the list at the same time"
    if "" in [*update.set, *update.add, *update.remove]:
        return "empty element in the list"
    return None


def _apply_list(values: Any, update: models.ListUpdate) -> None:
    if update.clear:
        del values[:]
    elif update.set:
        values[:] = list(update.set)
    else:
        kept = [v for v in values if v not in update.remove]
        kept += [v for v in update.add if v not in kept]
        values[:] = kept


class SipAdmin:
    """The admin half of the fake's SIP service; ``outbound_trunks`` is read by dials."""

    def __init__(self, **kwargs: Any) -> None:
        self.sip_store = True  # False: livekit-server started without Redis
        self.inbound_trunks: dict[str, pb.SIPInboundTrunkInfo] = {}
        self.outbound_trunks: dict[str, pb.SIPOutboundTrunkInfo] = {}
        self.dispatch_rules: dict[str, pb.SIPDispatchRuleInfo] = {}
        super().__init__(**kwargs)

    def _store(self) -> None:
        if not self.sip_store:
            raise NOT_CONNECTED

    # --- inbound trunks ---

    @rpc("SIP", "CreateSIPInboundTrunk", "sip.admin")
    async def _create_inbound(self, req: pb.CreateSIPInboundTrunkRequest) -> pb.SIPInboundTrunkInfo:
        self._store()
        invalid_unless(
            (req.HasField("trunk"), "missing trunk"),
            (not req.trunk.sip_trunk_id, "trunk id must not be set"),
            (_inbound_secured(req.trunk), OPEN_TRUNK),
        )
        trunk = pb.SIPInboundTrunkInfo()
        trunk.CopyFrom(req.trunk)  # the recorded request stays as it was received
        self._check_trunks(trunk)
        trunk.sip_trunk_id = new_id("ST_")
        self.inbound_trunks[trunk.sip_trunk_id] = trunk
        return trunk

    @rpc("SIP", "UpdateSIPInboundTrunk", "sip.admin")
    async def _update_inbound(self, req: pb.UpdateSIPInboundTrunkRequest) -> pb.SIPInboundTrunkInfo:
        self._store()
        action = req.WhichOneof("action")
        invalid_unless(
            (req.sip_trunk_id, "trunk id must be set"),
            (action, "missing or unsupported update action"),
        )
        if action == "replace":
            invalid_unless(
                (req.replace.sip_trunk_id in ("", req.sip_trunk_id), _ID_MISMATCH % "trunk"),
                (_inbound_secured(req.replace), OPEN_TRUNK),
            )
        else:
            invalid_unless(
                *_list_update_rules(req.update, "numbers", "allowed_addresses", "allowed_numbers")
            )
        found = self.inbound_trunks.get(req.sip_trunk_id)
        if found is None:
            raise TRUNK_NOT_FOUND
        trunk = pb.SIPInboundTrunkInfo()
        if action == "replace":
            trunk.CopyFrom(req.replace)
        else:
            trunk.CopyFrom(found)
            diff = req.update
            for name in ("numbers", "allowed_addresses", "allowed_numbers"):
                if diff.HasField(name):
                    _apply_list(getattr(trunk, name), getattr(diff, name))
            for name in ("auth_username", "auth_password", "auth_realm", "name", "metadata"):
                if diff.HasField(name):
                    setattr(trunk, name, getattr(diff, name))
            if not _inbound_secured(trunk):
                raise relayed("invalid_argument", OPEN_TRUNK)
        trunk.sip_trunk_id = req.sip_trunk_id
        self._check_trunks(trunk)
        self.inbound_trunks[trunk.sip_trunk_id] = trunk
        return trunk

    @rpc("SIP", "ListSIPInboundTrunk", "sip.admin")
    async def _list_inbound(
        self, req: pb.ListSIPInboundTrunkRequest
    ) -> pb.ListSIPInboundTrunkResponse:
        self._store()
        wanted = {normalize(n) for n in req.numbers}
        items = [
            t
            for t in self.inbound_trunks.values()
            if (not req.trunk_ids or t.sip_trunk_id in req.trunk_ids)
            and (not wanted or not t.numbers or wanted & {normalize(n) for n in t.numbers})
        ]
        return pb.ListSIPInboundTrunkResponse(items=_page(items, req.page, "sip_trunk_id"))

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
                    if other is trunk or other.sip_trunk_id == trunk.sip_trunk_id:
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
                        f" {_go_quote(trunk.numbers)} {how}",
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
        self._store()
        action = req.WhichOneof("action")
        invalid_unless(
            (req.sip_trunk_id, "trunk id must be set"),
            (action, "missing or unsupported update action"),
        )
        if action == "replace":
            invalid_unless(
                (req.replace.sip_trunk_id in ("", req.sip_trunk_id), _ID_MISMATCH % "trunk"),
                *_outbound_rules(req.replace),
            )
        else:
            invalid_unless(*_list_update_rules(req.update, "numbers"))
        found = self.outbound_trunks.get(req.sip_trunk_id)
        if found is None:
            raise TRUNK_NOT_FOUND
        trunk = pb.SIPOutboundTrunkInfo()
        if action == "replace":
            trunk.CopyFrom(req.replace)
        else:
            trunk.CopyFrom(found)
            diff = req.update
            if diff.HasField("numbers"):
                _apply_list(trunk.numbers, diff.numbers)
            for name in ("address", "transport", "destination_country", "auth_username"):
                if diff.HasField(name):
                    setattr(trunk, name, getattr(diff, name))
            for name in ("auth_password", "name", "metadata", "from_host"):
                if diff.HasField(name):
                    setattr(trunk, name, getattr(diff, name))
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
        ids, numbers = set(req.trunk_ids), set(req.numbers)
        items = [
            t
            for t in self.outbound_trunks.values()
            if (not ids or t.sip_trunk_id in ids)
            and (not numbers or not t.numbers or numbers & set(t.numbers))
        ]
        return pb.ListSIPOutboundTrunkResponse(items=_page(items, req.page, "sip_trunk_id"))

    @rpc("SIP", "DeleteSIPTrunk", "sip.admin")
    async def _delete_trunk(self, req: pb.DeleteSIPTrunkRequest) -> pb.SIPTrunkInfo:
        self._store()
        invalid_unless((req.sip_trunk_id, "trunk ID is required"))
        self.inbound_trunks.pop(req.sip_trunk_id, None)  # HDEL: a missing id is no error
        self.outbound_trunks.pop(req.sip_trunk_id, None)
        return pb.SIPTrunkInfo(sip_trunk_id=req.sip_trunk_id)

    # --- dispatch rules ---

    @rpc("SIP", "CreateSIPDispatchRule", "sip.admin")
    async def _create_rule(self, req: pb.CreateSIPDispatchRuleRequest) -> pb.SIPDispatchRuleInfo:
        self._store()
        rule = pb.SIPDispatchRuleInfo()
        if req.HasField("dispatch_rule"):
            rule.CopyFrom(req.dispatch_rule)
            invalid_unless((not rule.sip_dispatch_rule_id, "rule id must not be set"))
        else:  # the request's own (deprecated) fields
            if req.HasField("rule"):
                rule.rule.CopyFrom(req.rule)
            rule.trunk_ids[:] = req.trunk_ids
            rule.inbound_numbers[:] = req.inbound_numbers
            rule.name, rule.metadata = req.name, req.metadata
            rule.hide_phone_number = req.hide_phone_number
            rule.room_config.CopyFrom(req.room_config)
        invalid_unless((rule.HasField("rule"), "missing rule"))
        rule.media.SetInParent()  # Upgrade(): the media config it would otherwise lack
        # ListSIPDispatchRule filters by the request's deprecated trunk_ids only.
        self._check_rules(rule, [r for r in self._rules() if _shares_trunk(r, req.trunk_ids)])
        rule.sip_dispatch_rule_id = new_id("SDR_")
        self.dispatch_rules[rule.sip_dispatch_rule_id] = rule
        return rule

    @rpc("SIP", "UpdateSIPDispatchRule", "sip.admin")
    async def _update_rule(self, req: pb.UpdateSIPDispatchRuleRequest) -> pb.SIPDispatchRuleInfo:
        self._store()
        action = req.WhichOneof("action")
        invalid_unless(
            (req.sip_dispatch_rule_id, "rule id must be set"),
            (action, "missing or unsupported update action"),
        )
        if action == "replace":
            same = req.replace.sip_dispatch_rule_id in ("", req.sip_dispatch_rule_id)
            invalid_unless(
                (same, _ID_MISMATCH % "rule"),
                (req.replace.HasField("rule"), "missing rule"),
            )
        else:
            invalid_unless(*_list_update_rules(req.update, "trunk_ids"))
        found = self.dispatch_rules.get(req.sip_dispatch_rule_id)
        if found is None:
            raise RULE_NOT_FOUND
        rule = pb.SIPDispatchRuleInfo()
        if action == "replace":
            rule.CopyFrom(req.replace)
        else:
            rule.CopyFrom(found)
            diff = req.update
            if diff.HasField("trunk_ids"):
                _apply_list(rule.trunk_ids, diff.trunk_ids)
            if diff.HasField("rule"):
                rule.rule.CopyFrom(diff.rule)
            for name in ("name", "metadata"):
                if diff.HasField(name):
                    setattr(rule, name, getattr(diff, name))
            for key, value in diff.attributes.items():
                if value:
                    rule.attributes[key] = value
                else:
                    rule.attributes.pop(key, None)
        rule.media.SetInParent()
        rule.sip_dispatch_rule_id = req.sip_dispatch_rule_id
        others = [r for r in self._rules() if _shares_trunk(r, rule.trunk_ids)]
        self._check_rules(rule, others)
        self.dispatch_rules[rule.sip_dispatch_rule_id] = rule
        return rule

    @rpc("SIP", "ListSIPDispatchRule", "sip.admin")
    async def _list_dispatch_rules(
        self, req: pb.ListSIPDispatchRuleRequest
    ) -> pb.ListSIPDispatchRuleResponse:
        self._store()
        items = [
            r
            for r in self._rules()
            if (not req.dispatch_rule_ids or r.sip_dispatch_rule_id in req.dispatch_rule_ids)
            and _shares_trunk(r, req.trunk_ids)
        ]
        return pb.ListSIPDispatchRuleResponse(items=_page(items, req.page, "sip_dispatch_rule_id"))

    @rpc("SIP", "DeleteSIPDispatchRule", "sip.admin")
    async def _delete_rule(self, req: pb.DeleteSIPDispatchRuleRequest) -> pb.SIPDispatchRuleInfo:
        self._store()
        invalid_unless((req.sip_dispatch_rule_id, "dispatch rule ID is required"))
        rule = self.dispatch_rules.pop(req.sip_dispatch_rule_id, None)
        if rule is None:
            raise RULE_NOT_FOUND
        return rule

    def _rules(self) -> list[pb.SIPDispatchRuleInfo]:
        return sorted(self.dispatch_rules.values(), key=lambda r: r.sip_dispatch_rule_id)

    def _check_rules(
        self, changed: pb.SIPDispatchRuleInfo, listed: list[pb.SIPDispatchRuleInfo]
    ) -> None:
        """sip.DispatchRuleValidator: no two rules for the same trunk, caller, called
        number and PIN; the earlier rule (by id; a new one comes last) is named."""
        rules = [
            changed if r.sip_dispatch_rule_id == changed.sip_dispatch_rule_id else r for r in listed
        ]
        if not changed.sip_dispatch_rule_id:
            rules.append(changed)
        seen: dict[tuple[str, str, str, str], pb.SIPDispatchRuleInfo] = {}
        for rule in rules:
            kind = rule.rule.WhichOneof("rule")
            pin = getattr(rule.rule, kind).pin if kind else ""
            for trunk in list(rule.trunk_ids) or [""]:
                for caller in list(rule.inbound_numbers) or [""]:
                    for called in list(rule.numbers) or [""]:
                        key = (pin, trunk, normalize(caller), normalize(called))
                        other = seen.setdefault(key, rule)
                        if other is not rule:
                            raise TwirpError(
                                "invalid_argument",
                                "Dispatch rule for the same trunk, inbound number, number, and"
                                " PIN combination already exists in dispatch rule"
                                f' "{other.sip_dispatch_rule_id or "<new>"}"'
                                f' "{other.name or "<blank name>"}"',
                            )


_ID_MISMATCH = "%s id in the info must be empty or match the id in the update"


def _trunk_id(trunk: pb.SIPInboundTrunkInfo) -> str:
    return trunk.sip_trunk_id


def _inbound_secured(trunk: pb.SIPInboundTrunkInfo) -> bool:
    has_auth = bool(trunk.auth_username or trunk.auth_password)
    return has_auth or bool(trunk.allowed_addresses) or bool(trunk.numbers)


def _outbound_rules(trunk: pb.SIPOutboundTrunkInfo) -> list[tuple[object, str]]:
    """SIPOutboundTrunkInfo.ValidateResult, in its order."""
    address = trunk.address
    return [
        (trunk.numbers, "no trunk numbers specified"),
        (address, "no outbound address specified"),
        ("transport=" not in address, "trunk address should not contain transport parameter"),
        (
            not (set(address) & {"@", ";"} or address.startswith(("sip:", "sips:"))),
            "trunk address should be a hostname or IP, not SIP URI",
        ),
    ]


def _list_update_rules(update: Any, *names: str) -> list[tuple[object, str]]:
    """The ListUpdate checks of a field update, for the lists it sets."""
    found = [_list_update(getattr(update, n)) for n in names if update.HasField(n)]
    return [(problem is None, problem or "") for problem in found]


def _shares_trunk(rule: pb.SIPDispatchRuleInfo, trunk_ids: Iterable[str]) -> bool:
    """ListSIPDispatchRuleRequest.Filter: rules for any trunk always match."""
    wanted = set(trunk_ids)
    return not wanted or not rule.trunk_ids or bool(wanted & set(rule.trunk_ids))


def _page(items: list[Any], page: models.Pagination, key: str) -> list[Any]:
    items = sorted(items, key=lambda item: getattr(item, key))
    return items[: page.limit] if page.limit > 0 else items
