"""The local server's SIP Update* calls as livekit-server answers them: a field update is
applied by ``SIP*Update.ApplyResult``/``Apply`` (livekit/protocol ``livekit/sip.go``: list
updates by ``applyListUpdate`` in ``livekit/types.go``, media by ``updateMediaConfig`` and
``Upgrade``); a replacement is stored as sent (``UpdateSIP*Request_Replace.Apply``)."""

from __future__ import annotations

from typing import TypeVar

import pytest
from google.protobuf.duration_pb2 import Duration
from google.protobuf.message import Message
from livekit import api
from livekit.protocol import models
from livekit.protocol import sip as pb

NUMBER = "+18005550100"
OTHER = "+18005550111"
ALLOW, REQUIRE = pb.SIP_MEDIA_ENCRYPT_ALLOW, pb.SIP_MEDIA_ENCRYPT_REQUIRE
R = TypeVar("R", bound=Message)


async def field_update(lkapi: api.LiveKitAPI, method: str, req: Message, reply: type[R]) -> R:
    """An Update* call as sent on the wire: livekit-api 1.2.2's ``update_*_fields`` have no
    ``media_encryption`` argument."""
    sent: R = await lkapi.sip._client.request("SIP", method, req, lkapi.sip._admin_headers(), reply)
    return sent


async def update_inbound(
    lkapi: api.LiveKitAPI, trunk_id: str, **fields: object
) -> pb.SIPInboundTrunkInfo:
    update = pb.SIPInboundTrunkUpdate(**fields)  # type: ignore[arg-type]
    req = pb.UpdateSIPInboundTrunkRequest(sip_trunk_id=trunk_id, update=update)
    return await field_update(lkapi, "UpdateSIPInboundTrunk", req, pb.SIPInboundTrunkInfo)


async def inbound_trunk(lkapi: api.LiveKitAPI, **fields: object) -> pb.SIPInboundTrunkInfo:
    trunk = pb.SIPInboundTrunkInfo(name="in", numbers=[NUMBER], **fields)  # type: ignore[arg-type]
    return await lkapi.sip.create_inbound_trunk(api.CreateSIPInboundTrunkRequest(trunk=trunk))


async def test_a_field_update_upgrades_the_media_config(lkapi: api.LiveKitAPI) -> None:
    plain = await inbound_trunk(lkapi)
    assert not plain.HasField("media")  # creating does not Upgrade a trunk
    renamed = await update_inbound(lkapi, plain.sip_trunk_id, name="renamed")
    assert renamed.HasField("media") and renamed.media == pb.SIPMediaConfig()
    legacy = await inbound_trunk(lkapi, allowed_numbers=[OTHER], media_encryption=ALLOW)
    renamed = await update_inbound(lkapi, legacy.sip_trunk_id, name="renamed")
    assert (renamed.media.encryption, renamed.media_encryption) == (ALLOW, ALLOW)
    # ... and so do the outbound trunks' and dispatch rules' field updates:
    trunk = pb.SIPOutboundTrunkInfo(address="sip.example.com", numbers=[NUMBER])
    out = await lkapi.sip.create_outbound_trunk(api.CreateSIPOutboundTrunkRequest(trunk=trunk))
    out = await lkapi.sip.update_outbound_trunk_fields(out.sip_trunk_id, name="renamed")
    assert out.HasField("media")


async def test_a_field_update_sets_media_encryption(lkapi: api.LiveKitAPI) -> None:
    trunk = await inbound_trunk(lkapi)
    updated = await update_inbound(lkapi, trunk.sip_trunk_id, media_encryption=REQUIRE)
    assert (updated.media.encryption, updated.media_encryption) == (REQUIRE, REQUIRE)
    # Once media names an encryption, the legacy field only follows it.
    kept = await update_inbound(lkapi, trunk.sip_trunk_id, media_encryption=ALLOW)
    assert (kept.media.encryption, kept.media_encryption) == (REQUIRE, REQUIRE)
    changed = await update_inbound(
        lkapi, trunk.sip_trunk_id, media=pb.SIPMediaConfig(encryption=ALLOW)
    )
    assert (changed.media.encryption, changed.media_encryption) == (ALLOW, ALLOW)


async def test_a_field_update_replaces_media_whole(lkapi: api.LiveKitAPI) -> None:
    media = pb.SIPMediaConfig(encryption=REQUIRE, codecs=[pb.SIPCodec(name="PCMU")])
    trunk = pb.SIPOutboundTrunkInfo(address="sip.example.com", numbers=[NUMBER], media=media)
    made = await lkapi.sip.create_outbound_trunk(api.CreateSIPOutboundTrunkRequest(trunk=trunk))
    assert made.media_encryption == pb.SIP_MEDIA_ENCRYPT_DISABLE  # no Upgrade on create
    opus = pb.SIPMediaConfig(codecs=[pb.SIPCodec(name="opus")])
    updated = await lkapi.sip.update_outbound_trunk_fields(made.sip_trunk_id, media=opus)
    # The stored encryption went with the old media; the legacy field had none to restore.
    assert updated.media == opus and updated.media_encryption == pb.SIP_MEDIA_ENCRYPT_DISABLE


async def test_a_replacement_is_stored_as_sent(lkapi: api.LiveKitAPI) -> None:
    trunk = await inbound_trunk(lkapi, media_encryption=ALLOW)
    replaced = await lkapi.sip.update_inbound_trunk(
        trunk.sip_trunk_id, pb.SIPInboundTrunkInfo(numbers=[NUMBER], media_encryption=REQUIRE)
    )
    assert not replaced.HasField("media") and replaced.media_encryption == REQUIRE
    rule = pb.SIPDispatchRuleInfo(
        rule=pb.SIPDispatchRule(dispatch_rule_individual=pb.SIPDispatchRuleIndividual())
    )
    made = await lkapi.sip.create_dispatch_rule(
        api.CreateSIPDispatchRuleRequest(dispatch_rule=rule)
    )
    assert made.HasField("media")  # CreateSIPDispatchRule Upgrades the rule it is given
    replaced_rule = await lkapi.sip.update_dispatch_rule(made.sip_dispatch_rule_id, rule)
    assert not replaced_rule.HasField("media")
    renamed = await lkapi.sip.update_dispatch_rule_fields(made.sip_dispatch_rule_id, name="b")
    assert renamed.HasField("media")
    legacy = await lkapi.sip.create_dispatch_rule(
        api.CreateSIPDispatchRuleRequest(rule=rule.rule, trunk_ids=["ST_other"])
    )
    assert not legacy.HasField("media")  # the deprecated form is not Upgraded


async def test_a_list_update_removes_one_element_per_remove(lkapi: api.LiveKitAPI) -> None:
    numbers = [NUMBER, OTHER, NUMBER]
    trunk = pb.SIPOutboundTrunkInfo(address="sip.example.com", numbers=numbers)
    made = await lkapi.sip.create_outbound_trunk(api.CreateSIPOutboundTrunkRequest(trunk=trunk))
    update = models.ListUpdate(remove=[NUMBER], add=[OTHER, "+18005550122"])
    updated = await lkapi.sip.update_outbound_trunk_fields(made.sip_trunk_id, numbers=update)
    assert list(updated.numbers) == [OTHER, NUMBER, "+18005550122"]


@pytest.mark.parametrize(
    ("media", "message"),
    [
        (pb.SIPMediaConfig(codecs=[pb.SIPCodec()]), "missing codec name"),
        (pb.SIPMediaConfig(codecs=[pb.SIPCodec(name="G 722")]), "invalid codec name"),
        (
            pb.SIPMediaConfig(codecs=[pb.SIPCodec(name="opus/48000")]),
            "codec name must not contain '/'",
        ),
        (
            pb.SIPMediaConfig(media_timeout=Duration(seconds=660)),
            "media_timeout must not exceed 10m0s",
        ),
        (
            pb.SIPMediaConfig(media_timeout=Duration(seconds=-1)),
            "media_timeout must not be negative",
        ),
    ],
)
async def test_media_is_validated(
    lkapi: api.LiveKitAPI, media: pb.SIPMediaConfig, message: str
) -> None:
    # SIPMediaConfig.Validate: in the field update's Validate (before the trunk is loaded)
    # and in SIPInboundTrunkInfo.ValidateResult on create.
    with pytest.raises(api.TwirpError) as caught:
        await update_inbound(lkapi, "ST_missing", media=media)
    assert (caught.value.code, caught.value.message) == ("invalid_argument", message)
    with pytest.raises(api.TwirpError) as caught:
        await inbound_trunk(lkapi, media=media)
    assert (caught.value.code, caught.value.message) == ("invalid_argument", message)


async def test_from_host_must_be_a_host(lkapi: api.LiveKitAPI) -> None:
    # validateHostnameFormat(p.FromHost, "from_host") in SIPOutboundTrunkInfo.ValidateResult.
    trunk = pb.SIPOutboundTrunkInfo(
        address="sip.example.com", numbers=[NUMBER], from_host="sip:me@example.com"
    )
    with pytest.raises(api.TwirpError) as caught:
        await lkapi.sip.create_outbound_trunk(api.CreateSIPOutboundTrunkRequest(trunk=trunk))
    assert (caught.value.code, caught.value.message) == (
        "invalid_argument",
        "from_host should be a hostname or IP, not SIP URI",
    )
