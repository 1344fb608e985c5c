"""The local server's SIP List* calls as livekit-server answers them: the handler in
``pkg/service/sip.go`` reads ``livekit.ListPageIter`` (livekit/protocol ``livekit/types.go``)
to the end over the store's pages (``redisIterPage``/``sortPage`` in
``pkg/service/redisstore.go``), each filtered by the request's ``Filter``
(livekit/protocol ``livekit/sip.go``)."""

from __future__ import annotations

from livekit import api
from livekit.protocol import models
from livekit.protocol import sip as pb

from fakes.livekit_server import FakeLiveKitServer

NUMBER = "+18005550100"
OTHER = "+18005550111"


def stored_outbound(livekit: FakeLiveKitServer, **numbers: str) -> None:
    """Outbound trunks under ids we choose (the store's order is the ids')."""
    for trunk_id, number in numbers.items():
        livekit.outbound_trunks[trunk_id] = pb.SIPOutboundTrunkInfo(
            sip_trunk_id=trunk_id, name=trunk_id, address="sip.example.com", numbers=[number]
        )


def ids(listed: pb.ListSIPOutboundTrunkResponse | pb.ListSIPInboundTrunkResponse) -> list[str]:
    return [item.sip_trunk_id for item in listed.items]


async def test_a_page_limit_does_not_cut_the_answer(
    livekit: FakeLiveKitServer, lkapi: api.LiveKitAPI
) -> None:
    # The limit is how many ids each store read takes; the handler reads on to the end.
    stored_outbound(livekit, ST_c=NUMBER, ST_a=NUMBER, ST_b=NUMBER)
    unpaged = await lkapi.sip.list_outbound_trunk(api.ListSIPOutboundTrunkRequest())
    assert ids(unpaged) == ["ST_a", "ST_b", "ST_c"]
    one_at_a_time = await lkapi.sip.list_outbound_trunk(
        api.ListSIPOutboundTrunkRequest(page=models.Pagination(limit=1))
    )
    assert ids(one_at_a_time) == ["ST_a", "ST_b", "ST_c"]


async def test_after_id_lists_only_the_ids_after_it(
    livekit: FakeLiveKitServer, lkapi: api.LiveKitAPI
) -> None:
    stored_outbound(livekit, ST_a=NUMBER, ST_b=NUMBER, ST_c=NUMBER)

    async def after(after_id: str, limit: int = 0) -> list[str]:
        page = models.Pagination(after_id=after_id, limit=limit)
        return ids(await lkapi.sip.list_outbound_trunk(api.ListSIPOutboundTrunkRequest(page=page)))

    assert await after("ST_a") == ["ST_b", "ST_c"]
    assert await after("ST_a", limit=1) == ["ST_b", "ST_c"]
    assert await after("ST_ab") == ["ST_b", "ST_c"]  # an id not stored: those sorting after it
    assert await after("ST_c") == []


async def test_a_store_page_the_filter_empties_ends_a_paged_list(
    livekit: FakeLiveKitServer, lkapi: api.LiveKitAPI
) -> None:
    # Each read takes `limit` ids after the last trunk kept; one that keeps none ends the
    # list (listPageIter.NextPage), so a filtered, paged list can miss later matches.
    stored_outbound(livekit, ST_a=NUMBER, ST_b=OTHER, ST_c=NUMBER, ST_d=NUMBER)

    async def matching(page: models.Pagination | None) -> list[str]:
        req = api.ListSIPOutboundTrunkRequest(numbers=[NUMBER], page=page)
        return ids(await lkapi.sip.list_outbound_trunk(req))

    every = ["ST_a", "ST_c", "ST_d"]
    assert await matching(None) == every  # no page: every trunk, filtered
    assert await matching(models.Pagination(limit=2)) == every  # [a b] [b c] [d]
    assert await matching(models.Pagination(limit=1)) == ["ST_a"]  # [b] kept nothing


async def test_inbound_numbers_match_normalised_outbound_only_as_stored(
    livekit: FakeLiveKitServer, lkapi: api.LiveKitAPI
) -> None:
    # ListSIPInboundTrunkRequest.Filter compares NormalizeNumber of both sides;
    # ListSIPOutboundTrunkRequest.Filter compares the strings as they are.
    formatted = "+1 (800) 555-0100"
    inbound = pb.SIPInboundTrunkInfo(name="in", numbers=[formatted], auth_username="u")
    await lkapi.sip.create_inbound_trunk(api.CreateSIPInboundTrunkRequest(trunk=inbound))
    anywhere = pb.SIPInboundTrunkInfo(name="any number", auth_username="u")
    await lkapi.sip.create_inbound_trunk(api.CreateSIPInboundTrunkRequest(trunk=anywhere))
    stored_outbound(livekit, ST_out=formatted)

    found_in = await lkapi.sip.list_inbound_trunk(api.ListSIPInboundTrunkRequest(numbers=[NUMBER]))
    assert sorted(t.name for t in found_in.items) == ["any number", "in"]
    other_in = await lkapi.sip.list_inbound_trunk(api.ListSIPInboundTrunkRequest(numbers=[OTHER]))
    assert [t.name for t in other_in.items] == ["any number"]  # no numbers: serves every one
    out = api.ListSIPOutboundTrunkRequest
    assert ids(await lkapi.sip.list_outbound_trunk(out(numbers=[NUMBER]))) == []
    assert ids(await lkapi.sip.list_outbound_trunk(out(numbers=[formatted]))) == ["ST_out"]


async def test_dispatch_rules_are_listed_by_the_same_walk(
    livekit: FakeLiveKitServer, lkapi: api.LiveKitAPI
) -> None:
    rule = pb.SIPDispatchRule(dispatch_rule_individual=pb.SIPDispatchRuleIndividual())
    for rule_id, trunk in (("SDR_a", "ST_1"), ("SDR_b", "ST_2"), ("SDR_c", "")):
        livekit.dispatch_rules[rule_id] = pb.SIPDispatchRuleInfo(
            sip_dispatch_rule_id=rule_id, rule=rule, trunk_ids=[trunk] if trunk else []
        )

    async def listed(**fields: object) -> list[str]:
        req = api.ListSIPDispatchRuleRequest(**fields)  # type: ignore[arg-type]
        return [r.sip_dispatch_rule_id for r in (await lkapi.sip.list_dispatch_rule(req)).items]

    assert await listed(page=models.Pagination(limit=1)) == ["SDR_a", "SDR_b", "SDR_c"]
    assert await listed(page=models.Pagination(after_id="SDR_a")) == ["SDR_b", "SDR_c"]
    # A rule without trunks is for every trunk; the paged walk stops at [SDR_b].
    assert await listed(trunk_ids=["ST_1"]) == ["SDR_a", "SDR_c"]
    assert await listed(trunk_ids=["ST_1"], page=models.Pagination(limit=1)) == ["SDR_a"]
