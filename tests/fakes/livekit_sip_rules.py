"""LiveKit's SIP dispatch rules for the local server: listed, created, updated (replace or
field update) and deleted, as livekit-server answers (:mod:`fakes.livekit_sip_admin` has
the sources and the rules they share)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from livekit.protocol import sip as pb

from fakes.livekit_sip_admin import (
    AdminBase,
    apply_list,
    listed,
    media_rules,
    next_version,
    normalize,
    set_given,
    update_media,
    update_rules,
    upgrade,
)
from fakes.twirp import TwirpError, invalid_unless, new_id, rpc

RULE_NOT_FOUND = TwirpError("not_found", "requested sip dispatch rule does not exist")


class SipDispatchRules(AdminBase):
    def __init__(self, **kwargs: Any) -> None:
        self.dispatch_rules: dict[str, pb.SIPDispatchRuleInfo] = {}
        super().__init__(**kwargs)

    @rpc("SIP", "CreateSIPDispatchRule", "sip.admin")
    async def _create_rule(self, req: pb.CreateSIPDispatchRuleRequest) -> pb.SIPDispatchRuleInfo:
        self._store()
        rule = pb.SIPDispatchRuleInfo()
        if req.HasField("dispatch_rule"):
            rule.CopyFrom(req.dispatch_rule)
            upgrade(rule)  # the handler Upgrades req.DispatchRule, absent in the legacy form
            invalid_unless((not rule.sip_dispatch_rule_id, "rule id must not be set"))
        else:  # the request's own (deprecated) fields: DispatchRuleInfo()
            if req.HasField("rule"):
                rule.rule.CopyFrom(req.rule)
            rule.trunk_ids[:] = req.trunk_ids
            rule.inbound_numbers[:] = req.inbound_numbers
            rule.name, rule.metadata = req.name, req.metadata
            rule.hide_phone_number = req.hide_phone_number
            rule.attributes.update(req.attributes)
            rule.room_preset = req.room_preset
            if req.HasField("room_config"):
                rule.room_config.CopyFrom(req.room_config)
        invalid_unless((rule.HasField("rule"), "missing rule"), *media_rules(rule.media))
        # ListSIPDispatchRule filters by the request's deprecated trunk_ids only.
        self._check_rules(rule, [r for r in self._rules() if _shares_trunk(r, req.trunk_ids)])
        rule.sip_dispatch_rule_id = new_id("SDR_")
        self.dispatch_rules[rule.sip_dispatch_rule_id] = rule
        return rule

    @rpc("SIP", "UpdateSIPDispatchRule", "sip.admin")
    async def _update_rule(self, req: pb.UpdateSIPDispatchRuleRequest) -> pb.SIPDispatchRuleInfo:
        action = self._update_action(req, req.sip_dispatch_rule_id, "rule")
        if action == "replace":
            replacement = req.replace
            invalid_unless(
                (replacement.HasField("rule"), "missing rule"), *media_rules(replacement.media)
            )
        else:
            invalid_unless(*update_rules(req.update, "trunk_ids"))
        rule = next_version(self.dispatch_rules, req.sip_dispatch_rule_id, req, RULE_NOT_FOUND)
        if action == "update":
            diff = req.update
            if diff.HasField("trunk_ids"):
                apply_list(rule.trunk_ids, diff.trunk_ids)
            if diff.HasField("rule"):
                rule.rule.CopyFrom(diff.rule)
            set_given(rule, diff, "name", "metadata")
            for key, value in diff.attributes.items():
                if value:
                    rule.attributes[key] = value
                else:
                    rule.attributes.pop(key, None)
            update_media(rule, diff)  # a replacement is stored as sent: no Upgrade
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

        def wanted(r: pb.SIPDispatchRuleInfo) -> bool:  # ListSIPDispatchRuleRequest.Filter
            named = not req.dispatch_rule_ids or r.sip_dispatch_rule_id in req.dispatch_rule_ids
            return named and _shares_trunk(r, req.trunk_ids)

        items = listed(self.dispatch_rules.values(), req, "sip_dispatch_rule_id", wanted)
        return pb.ListSIPDispatchRuleResponse(items=items)

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


def _shares_trunk(rule: pb.SIPDispatchRuleInfo, trunk_ids: Iterable[str]) -> bool:
    """ListSIPDispatchRuleRequest.Filter: rules for any trunk always match."""
    wanted = set(trunk_ids)
    return not wanted or not rule.trunk_ids or bool(wanted & set(rule.trunk_ids))
