"""``intake provision``'s parts: the telephony file, the plan, and the livekit-api adapter
against the local LiveKit server (real client, real Twirp)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes.livekit_server import FakeLiveKitServer
from livekit import api
from livekit.protocol import sip as pb

from sip.dialing import parse_job_metadata
from sip.dispatch import InboundDispatch
from sip.errors import LiveKitRefusal, ProvisioningError
from sip.provisioning import export_file, load_telephony
from sip.provisioning_livekit import LiveKitTelephony
from sip.provisioning_plan import Plan, apply_plan, plan_changes
from sip.provisioning_state import (
    DispatchRule,
    Existing,
    InboundTrunk,
    OutboundTrunk,
    Owned,
    Record,
)

FLOWS = {"patient_intake", "lead_qualification", "customer_feedback"}
ENV = {"INBOUND_PW": "in-secret-1", "OUTBOUND_PW": "out-secret-1"}
TELEPHONY = """\
inbound:
  - name: main
    numbers: ["+18005550100", "+18005550101"]
    allowed_addresses: ["54.172.60.0/30"]
    auth: {username: intake, password_env: INBOUND_PW}
    krisp: true
    routes:
      - {number: "+18005550100", flow: patient_intake}
      - {number: "+18005550101", flow: lead_qualification, room_prefix: lead-}
outbound:
  - name: carrier
    address: example.pstn.twilio.com
    transport: tcp
    numbers: ["+18005550100"]
    auth: {username: intake, password_env: OUTBOUND_PW}
"""


def flow_problem(flow: str) -> str | None:
    return None if flow in FLOWS else f"unknown flow {flow!r}"


def load(tmp_path: Path, text: str = TELEPHONY, env: dict[str, str] = ENV) -> list[Record]:
    path = tmp_path / "telephony.yaml"
    path.write_text(text)
    return load_telephony(path, agent_name="intake", flow_problem=flow_problem, env=env)[1]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("inbound: [", "telephony.yaml: line 1: expected the node content"),
        ("- a list", "document: expected a mapping at the top level"),
        (
            "inbound:\n  - name: x\n    numbers: ['+14155550123']\n    numbrs: []\n",
            "inbound[0].numbrs (line 4): unknown key",
        ),
        ("trunks: []\n", "trunks (line 1): unknown key"),
        (
            'inbound:\n  - name: x\n    numbers: ["4155550123"]\n',
            "inbound[0].numbers[0] (line 3): expected an E.164 number",
        ),
        (
            'inbound:\n  - name: x\n    numbers: ["+1415"]\n',
            "inbound[0].numbers[0] (line 3): expected a valid E.164 number",
        ),
        (
            'inbound:\n  - name: x\n    numbers: ["+14155550123"]\n'
            '    allowed_addresses: ["a b"]\n',
            "inbound[0].allowed_addresses[0] (line 4): expected an IP address",
        ),
        (
            "inbound:\n  - name: x\n    numbers: []\n    auth: {username: u, password_env: P}\n",
            "inbound[0].numbers (line 3): List should have at least 1 item",
        ),
        (
            'outbound:\n  - name: x\n    address: "sip:a.example.com"\n'
            '    numbers: ["+14155550123"]\n',
            "outbound[0].address (line 3): expected a host name or IP, without sip:",
        ),
        (
            "outbound:\n  - name: x\n    address: a.example.com\n    transport: sctp\n"
            '    numbers: ["+14155550123"]\n',
            "outbound[0].transport (line 4): Input should be 'auto', 'udp', 'tcp' or 'tls'",
        ),
        (
            "inbound:\n  - name: bad name\n",
            "inbound[0].name (line 2): String should match pattern",
        ),
        (
            TELEPHONY + "  - {name: carrier, address: b.example.com, numbers: ['+18005550100']}\n",
            "outbound[1].name (line 16): a second outbound trunk named carrier",
        ),
        (
            TELEPHONY.replace('{number: "+18005550101", flow', '{number: "+18005550199", flow'),
            "inbound[0].routes[1].number (line 9): +18005550199 is not one of this trunk's numbers",
        ),
        (
            TELEPHONY.replace("flow: patient_intake", "flow: no_such_flow"),
            "inbound[0].routes[0].flow (line 8): unknown flow 'no_such_flow'",
        ),
        (
            TELEPHONY.replace("password_env: OUTBOUND_PW", "password_env: UNSET_PW"),
            "outbound[0].auth.password_env (line 15): the environment variable UNSET_PW is not set",
        ),
        (
            TELEPHONY.replace('    allowed_addresses: ["54.172.60.0/30"]\n', "").replace(
                "    auth: {username: intake, password_env: INBOUND_PW}\n", ""
            ),
            "inbound[0] (line 2): inbound trunk main is open to anyone",
        ),
    ],
)
def test_every_problem_names_its_path_and_line(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ProvisioningError) as caught:
        load(tmp_path, text)
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / 'telephony.yaml'}: ")
    assert expected in message, message
    assert "\n" not in message


def test_the_file_becomes_records_with_the_secrets_from_the_environment(tmp_path: Path) -> None:
    records = load(tmp_path)
    main, rule, lead, carrier = records
    assert main == InboundTrunk(
        name="main",
        numbers=("+18005550100", "+18005550101"),
        allowed_addresses=("54.172.60.0/30",),
        auth_username="intake",
        auth_password="in-secret-1",
        password_env="INBOUND_PW",
        krisp=True,
    )
    assert rule == DispatchRule(
        name="main/+18005550100",
        trunk="main",
        number="+18005550100",
        flow="patient_intake",
        agent_name="intake",
    )
    assert isinstance(lead, DispatchRule) and lead.room_prefix == "lead-"
    assert isinstance(carrier, OutboundTrunk) and carrier.transport == "tcp"
    assert "in-secret-1" not in repr(main)  # secrets stay out of reprs and logs


def test_a_plan_touches_only_what_differs_and_what_is_ours(tmp_path: Path) -> None:
    main, rule, lead, carrier = load(tmp_path)
    assert isinstance(main, InboundTrunk) and isinstance(carrier, OutboundTrunk)
    assert isinstance(rule, DispatchRule)
    stale = InboundTrunk(**{**main.__dict__, "auth_password": "stale-pw-9", "krisp": False})
    existing = Existing(
        inbound=(Owned("ST_b", stale), Owned("ST_c", stale)),  # an earlier run made two
        outbound=(Owned("ST_a", carrier),),
        rules=(
            Owned("SDR_x", rule),
            Owned("SDR_old", DispatchRule("main/+1", "main", "+1", "x", "intake")),
        ),
        foreign=3,
    )
    plan = plan_changes([main, rule, lead, carrier], existing)
    assert [c.describe() for c in plan.changes] == [
        "delete dispatch rule  main/+1 (SDR_old)",
        "delete inbound trunk  main (ST_c)",
        "update inbound trunk  main (ST_b): auth.password changed; krisp False -> True",
        "create dispatch rule  main/+18005550101",
    ]
    assert plan.summary() == (
        "1 to create, 1 to update, 2 to delete; 2 unchanged; 3 not made by intake provision"
        " left alone"
    )
    assert "stale-pw-9" not in " ".join(c.describe() for c in plan.changes)
    assert plan_changes([], Existing(foreign=2)) == Plan((), 0, 2)


async def provision(livekit: FakeLiveKitServer, records: list[Record]) -> Plan:
    async with api.LiveKitAPI(livekit.url, livekit.api_key, livekit.api_secret) as lkapi:
        port = LiveKitTelephony(lkapi, url=livekit.url)
        existing = await port.read()
        plan = plan_changes(records, existing)
        [done async for done in apply_plan(plan, existing, port)]
        return plan


async def test_apply_then_nothing_left_to_do(livekit: FakeLiveKitServer, tmp_path: Path) -> None:
    plan = await provision(livekit, load(tmp_path))
    assert plan.summary() == "4 to create; 0 unchanged"
    [trunk] = livekit.inbound_trunks.values()
    assert (trunk.auth_password, trunk.krisp_enabled) == ("in-secret-1", True)
    rules = sorted(livekit.dispatch_rules.values(), key=lambda r: r.name)
    assert [list(r.trunk_ids) for r in rules] == [[trunk.sip_trunk_id]] * 2
    assert [list(r.numbers) for r in rules] == [["+18005550100"], ["+18005550101"]]
    [agent] = rules[0].room_config.agents
    assert agent.agent_name == "intake"
    # What the rule dispatches is what the worker reads: one model at both ends.
    assert parse_job_metadata(agent.metadata) == InboundDispatch(flow="patient_intake")
    assert rules[1].rule.dispatch_rule_individual.room_prefix == "lead-"
    again = await provision(livekit, load(tmp_path))
    assert again.changes == () and again.summary().startswith("nothing to change")


async def test_changes_and_removals_reach_livekit_and_others_are_left_alone(
    livekit: FakeLiveKitServer, lkapi: api.LiveKitAPI, tmp_path: Path
) -> None:
    theirs = await lkapi.sip.create_inbound_trunk(
        api.CreateSIPInboundTrunkRequest(
            trunk=pb.SIPInboundTrunkInfo(name="main", numbers=["+14155550000"], auth_username="x")
        )
    )
    await provision(livekit, load(tmp_path))
    changed = TELEPHONY.replace("krisp: true", "krisp: false").replace(
        '      - {number: "+18005550101", flow: lead_qualification, room_prefix: lead-}\n', ""
    )
    plan = await provision(livekit, load(tmp_path, changed.split("outbound:")[0]))
    assert [(c.action, c.kind) for c in plan.changes] == [
        ("delete", "dispatch rule"),
        ("delete", "outbound trunk"),
        ("update", "inbound trunk"),
    ]
    assert plan.foreign == 1 and livekit.inbound_trunks[theirs.sip_trunk_id] == theirs
    assert len(livekit.dispatch_rules) == 1 and livekit.outbound_trunks == {}


async def test_export_round_trips(livekit: FakeLiveKitServer, tmp_path: Path) -> None:
    await provision(livekit, load(tmp_path))
    async with api.LiveKitAPI(livekit.url, livekit.api_key, livekit.api_secret) as lkapi:
        existing = await LiveKitTelephony(lkapi, url=livekit.url).read()
    text = export_file(existing)
    assert "in-secret-1" not in text and "password_env: INBOUND_PW" in text
    exported = tmp_path / "exported"
    exported.mkdir()
    plan = await provision(livekit, load(exported, text))
    assert plan.changes == () and plan.unchanged == 4
    assert export_file(Existing()) == "{}\n"


async def test_livekit_refusals_name_the_change(
    livekit: FakeLiveKitServer, lkapi: api.LiveKitAPI, tmp_path: Path
) -> None:
    # Someone else's trunk already answers +18005550100 for every caller.
    await lkapi.sip.create_inbound_trunk(
        api.CreateSIPInboundTrunkRequest(
            trunk=pb.SIPInboundTrunkInfo(numbers=["+18005550100"], auth_username="x")
        )
    )
    with pytest.raises(LiveKitRefusal) as caught:
        await provision(livekit, load(tmp_path))
    assert not caught.value.retryable
    assert str(caught.value).startswith(
        "create inbound trunk main: LiveKit answered HTTP 400 invalid_argument:"
        ' Conflicting inbound SIP Trunks: "<new>"'
    )
    livekit.sip_store = False
    with pytest.raises(LiveKitRefusal) as caught:
        await provision(livekit, load(tmp_path))
    assert caught.value.retryable and "sip not connected (redis required)" in str(caught.value)
