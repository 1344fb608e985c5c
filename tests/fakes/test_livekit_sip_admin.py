"""The local server's SIP admin API through the real livekit-api client: the shapes and
errors livekit-server answers with (see fakes/livekit_sip_admin.py for the sources)."""

from __future__ import annotations

import pytest
from livekit import api
from livekit.protocol import models
from livekit.protocol import sip as pb

from fakes.livekit_server import FakeLiveKitServer

NUMBER = "+18005550100"


def inbound(**fields: object) -> pb.SIPInboundTrunkInfo:
    base: dict[str, object] = {"name": "main", "numbers": [NUMBER], "auth_username": "u"}
    return pb.SIPInboundTrunkInfo(**(base | fields))  # type: ignore[arg-type]


async def refused(call: object) -> api.TwirpError:
    with pytest.raises(api.TwirpError) as caught:
        await call  # type: ignore[misc]
    return caught.value


async def test_inbound_trunks_are_created_listed_replaced_and_deleted(
    lkapi: api.LiveKitAPI,
) -> None:
    made = await lkapi.sip.create_inbound_trunk(api.CreateSIPInboundTrunkRequest(trunk=inbound()))
    assert made.sip_trunk_id.startswith("ST_") and list(made.numbers) == [NUMBER]
    listed = await lkapi.sip.list_inbound_trunk(api.ListSIPInboundTrunkRequest())
    assert list(listed.items) == [made]
    replaced = await lkapi.sip.update_inbound_trunk(made.sip_trunk_id, inbound(krisp_enabled=True))
    assert replaced.sip_trunk_id == made.sip_trunk_id and replaced.krisp_enabled
    deleted = await lkapi.sip.delete_trunk(
        api.DeleteSIPTrunkRequest(sip_trunk_id=made.sip_trunk_id)
    )
    assert deleted == pb.SIPTrunkInfo(sip_trunk_id=made.sip_trunk_id)
    again = await lkapi.sip.delete_trunk(api.DeleteSIPTrunkRequest(sip_trunk_id=made.sip_trunk_id))
    assert again.sip_trunk_id == made.sip_trunk_id  # Redis HDEL: gone is no error
    assert (await lkapi.sip.list_inbound_trunk(api.ListSIPInboundTrunkRequest())).items == []


async def test_field_updates_apply_list_updates(lkapi: api.LiveKitAPI) -> None:
    made = await lkapi.sip.create_inbound_trunk(api.CreateSIPInboundTrunkRequest(trunk=inbound()))
    other = "+18005550101"
    updated = await lkapi.sip.update_inbound_trunk_fields(
        made.sip_trunk_id, numbers=models.ListUpdate(add=[other]), name="renamed"
    )
    assert (list(updated.numbers), updated.name) == ([NUMBER, other], "renamed")
    error = await refused(
        lkapi.sip.update_inbound_trunk_fields(
            made.sip_trunk_id, numbers=models.ListUpdate(set=[other], add=[NUMBER])
        )
    )
    assert (error.code, error.message) == (
        "invalid_argument",
        "cannot set and change the list at the same time",
    )


async def test_an_open_inbound_trunk_is_refused(lkapi: api.LiveKitAPI) -> None:
    open_trunk = pb.SIPInboundTrunkInfo(name="open")
    error = await refused(
        lkapi.sip.create_inbound_trunk(api.CreateSIPInboundTrunkRequest(trunk=open_trunk))
    )
    assert (error.code, error.status) == ("invalid_argument", 400)
    assert error.message.startswith("for security, one of the fields must be set")
    only_auth = inbound(numbers=[])
    made = await lkapi.sip.create_inbound_trunk(api.CreateSIPInboundTrunkRequest(trunk=only_auth))
    error = await refused(  # a field update that opens it fails after the load: relayed
        lkapi.sip.update_inbound_trunk_fields(made.sip_trunk_id, auth_username="")
    )
    assert error.code == "invalid_argument"
    assert error.message.startswith("twirp error unknown: for security")


async def test_two_trunks_for_one_number_conflict(lkapi: api.LiveKitAPI) -> None:
    first = await lkapi.sip.create_inbound_trunk(api.CreateSIPInboundTrunkRequest(trunk=inbound()))
    error = await refused(
        lkapi.sip.create_inbound_trunk(api.CreateSIPInboundTrunkRequest(trunk=inbound()))
    )
    assert error.code == "invalid_argument"
    assert error.message == (
        f'Conflicting inbound SIP Trunks: "<new>" and "{first.sip_trunk_id}", using the same'
        f' number(s) ["{NUMBER}"] without AllowedNumbers set'
    )
    # Different callers let in: no conflict.
    await lkapi.sip.create_inbound_trunk(
        api.CreateSIPInboundTrunkRequest(trunk=inbound(allowed_numbers=["+14155550123"]))
    )


async def test_updating_what_does_not_exist(lkapi: api.LiveKitAPI) -> None:
    error = await refused(lkapi.sip.update_inbound_trunk("ST_missing", inbound()))
    assert (error.code, error.message) == ("not_found", "requested sip trunk does not exist")
    rule = pb.SIPDispatchRuleInfo(
        rule=pb.SIPDispatchRule(dispatch_rule_individual=pb.SIPDispatchRuleIndividual())
    )
    error = await refused(lkapi.sip.update_dispatch_rule("SDR_missing", rule))
    assert (error.code, error.message) == (
        "not_found",
        "requested sip dispatch rule does not exist",
    )
    error = await refused(
        lkapi.sip.delete_dispatch_rule(
            api.DeleteSIPDispatchRuleRequest(sip_dispatch_rule_id="SDR_missing")
        )
    )
    assert error.code == "not_found"


async def test_outbound_trunk_updates(lkapi: api.LiveKitAPI) -> None:
    trunk = pb.SIPOutboundTrunkInfo(name="out", address="sip.example.com", numbers=[NUMBER])
    made = await lkapi.sip.create_outbound_trunk(api.CreateSIPOutboundTrunkRequest(trunk=trunk))
    trunk.transport = pb.SIP_TRANSPORT_TLS
    replaced = await lkapi.sip.update_outbound_trunk(made.sip_trunk_id, trunk)
    assert replaced.transport == pb.SIP_TRANSPORT_TLS
    trunk.address = "sip:carrier.example.com"
    error = await refused(lkapi.sip.update_outbound_trunk(made.sip_trunk_id, trunk))
    assert (error.code, error.message) == (
        "invalid_argument",
        "trunk address should be a hostname or IP, not SIP URI",
    )
    error = await refused(
        lkapi.sip.update_outbound_trunk_fields(made.sip_trunk_id, address="")
    )  # a plain Go error from ApplyResult: unknown, no prefix
    assert (error.code, error.message) == ("unknown", "no outbound address specified")


async def test_dispatch_rules(lkapi: api.LiveKitAPI) -> None:
    individual = pb.SIPDispatchRule(
        dispatch_rule_individual=pb.SIPDispatchRuleIndividual(room_prefix="call-")
    )
    info = pb.SIPDispatchRuleInfo(name="a", rule=individual, trunk_ids=["ST_1"], numbers=[NUMBER])
    made = await lkapi.sip.create_dispatch_rule(
        api.CreateSIPDispatchRuleRequest(dispatch_rule=info)
    )
    assert made.sip_dispatch_rule_id.startswith("SDR_")
    assert made.HasField("media")  # SIPDispatchRuleInfo.Upgrade on the server
    listed = await lkapi.sip.list_dispatch_rule(api.ListSIPDispatchRuleRequest())
    assert list(listed.items) == [made]
    info.name = "b"
    error = await refused(
        lkapi.sip.create_dispatch_rule(api.CreateSIPDispatchRuleRequest(dispatch_rule=info))
    )
    assert (error.code, error.message) == (
        "invalid_argument",
        "Dispatch rule for the same trunk, inbound number, number, and PIN combination"
        f' already exists in dispatch rule "{made.sip_dispatch_rule_id}" "a"',
    )
    error = await refused(
        lkapi.sip.create_dispatch_rule(
            api.CreateSIPDispatchRuleRequest(dispatch_rule=pb.SIPDispatchRuleInfo(name="c"))
        )
    )
    assert (error.code, error.message) == ("invalid_argument", "missing rule")
    renamed = await lkapi.sip.update_dispatch_rule_fields(made.sip_dispatch_rule_id, name="z")
    assert renamed.name == "z" and list(renamed.numbers) == [NUMBER]
    gone = await lkapi.sip.delete_dispatch_rule(
        api.DeleteSIPDispatchRuleRequest(sip_dispatch_rule_id=made.sip_dispatch_rule_id)
    )
    assert gone.name == "z"


async def test_admin_calls_need_the_sip_admin_grant(livekit: FakeLiveKitServer) -> None:
    token = api.AccessToken(livekit.api_key, livekit.api_secret).with_sip_grants(
        api.SIPGrants(call=True)
    )
    async with api.LiveKitAPI(livekit.url, livekit.api_key, livekit.api_secret) as lkapi:
        lkapi.sip._admin_headers = lambda: {"Authorization": f"Bearer {token.to_jwt()}"}  # type: ignore[method-assign]
        error = await refused(lkapi.sip.list_inbound_trunk(api.ListSIPInboundTrunkRequest()))
    assert (error.code, error.status, error.message) == (
        "unauthenticated",
        401,
        "permissions denied",
    )


async def test_without_redis_the_sip_store_is_missing(
    livekit: FakeLiveKitServer, lkapi: api.LiveKitAPI
) -> None:
    livekit.sip_store = False
    error = await refused(lkapi.sip.list_dispatch_rule(api.ListSIPDispatchRuleRequest()))
    assert (error.code, error.status, error.message) == (
        "internal",
        500,
        "twirp error unknown: sip not connected (redis required)",
    )
