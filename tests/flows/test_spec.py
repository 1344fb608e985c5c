"""The spec: built-in flows match the contract; invalid specs say what and where."""

from __future__ import annotations

import pytest

from flows.errors import SpecError, UnknownFlowError
from flows.spec.catalog import FlowCatalog, parse_spec
from flows.spec.fields import ListField

# CONTRACT.md section 2: step ids, field ids and types, optional (?), confirm, when.
CONTRACT = {
    "customer_feedback": {
        "customer_identification": [
            ("customer_full_name", "name"),
            ("service_order_number", "digits"),
        ],
        "service_type": [("service_type", "choice")],
        "satisfaction": [("rating", "integer")],
        "recommendation": [("nps", "integer")],
        "resolution": [("issue_resolved", "yes_no"), ("follow_up_needed", "yes_no")],
        "comments": [("comments?", "text")],
    },
    "patient_intake": {
        "patient": [("full_name", "name"), ("date_of_birth!", "date")],
        "contact": [("phone!", "phone"), ("email?!", "email")],
        "visit": [("reason", "text"), ("new_patient", "yes_no")],
        "medications": [("medications", "list")],
        "allergies": [("allergies", "list")],
        "insurance": [
            ("has_insurance", "yes_no"),
            ("provider", "text"),
            ("member_id!", "alphanumeric"),
        ],
        "appointment": [("preferred_time", "choice")],
    },
    "lead_qualification": {
        "contact": [("full_name", "name"), ("company", "text"), ("role", "text")],
        "reach": [("email!", "email"), ("phone!", "phone")],
        "need": [("problem", "text")],
        "budget": [("budget_range", "choice")],
        "timeline": [("timeline", "choice")],
        "authority": [("decision_maker", "yes_no")],
        "meeting": [("wants_meeting", "yes_no")],
    },
}
OPTIONS = {
    "customer_feedback": {
        "service_type.service_type": ["plumbing", "electrical", "hvac", "appliance_repair", "other"]
    },
    "patient_intake": {
        "appointment.preferred_time": ["morning", "afternoon", "evening", "no_preference"]
    },
    "lead_qualification": {
        "budget.budget_range": ["under_10k", "10k_to_50k", "50k_to_250k", "over_250k", "unknown"],
        "timeline.timeline": ["immediately", "this_quarter", "this_year", "exploring"],
    },
}


@pytest.mark.parametrize("flow_id", sorted(CONTRACT))
def test_builtin_flow_matches_contract(flow_id: str) -> None:
    spec = FlowCatalog().load(flow_id)
    actual = {
        step.id: [
            (f.id + ("?" if f.optional else "") + ("!" if f.confirm else ""), f.type)
            for f in step.fields
        ]
        for step in spec.steps
    }
    assert actual == CONTRACT[flow_id]
    for path, option_ids in OPTIONS[flow_id].items():
        assert [o.id for o in spec.field(path).options] == option_ids  # type: ignore[union-attr]


def test_builtin_conditions_and_limits() -> None:
    catalog = FlowCatalog()
    feedback, intake = catalog.load("customer_feedback"), catalog.load("patient_intake")
    follow_up = feedback.field("resolution.follow_up_needed")
    assert follow_up.when is not None and follow_up.when.equals is False
    for path in ("insurance.provider", "insurance.member_id"):
        when = intake.field(path).when
        assert when is not None and (when.field, when.equals) == ("has_insurance", True)
    medications = intake.field("medications.medications")
    assert isinstance(medications, ListField)
    assert [(s.id, s.optional) for s in medications.item.fields] == [
        ("name", False),
        ("dosage", True),
    ]
    assert feedback.welcome.question and not intake.welcome.question
    assert intake.emergency is not None
    for spec in (feedback, intake, catalog.load("lead_qualification")):
        limits = spec.limits
        assert (limits.spoken_attempts_before_keypad, limits.max_attempts) == (2, 4)
        assert limits.no_input_reprompts == 2
        assert spec.transfer is not None and spec.transfer.destination is None


def test_version_is_a_short_stable_hash() -> None:
    first = FlowCatalog().load("patient_intake").version
    assert first == FlowCatalog().load("patient_intake").version
    assert len(first) == 8 and int(first, 16) >= 0


MINIMAL = """
id: tiny
name: Tiny
welcome: {message: hi}
steps:
  - id: one
    fields:
      - {id: answer, type: text}
"""


def test_minimal_spec_gets_defaults() -> None:
    spec = parse_spec(MINIMAL, "tiny.yaml")
    assert spec.ending.summary is True and spec.transfer is None
    assert spec.field("one.answer").question == "What is your answer?"


@pytest.mark.parametrize(
    ("text", "where", "what"),
    [
        (MINIMAL.replace("type: text", "type: txt"), "steps[0].fields[0] (line 8)", "tag 'txt'"),
        (MINIMAL + "colour: blue\n", "colour (line 9)", "unknown key"),
        (MINIMAL.replace("id: answer", "id: Answer"), "steps[0].fields[0].id (line 8)", "pattern"),
        (MINIMAL.replace("name: Tiny\n", ""), "name", "Field required"),
        (
            MINIMAL.replace("type: text}", "type: integer, min: 5, max: 1}"),
            "steps[0].fields[0] (line 8)",
            "min must not be greater than max",
        ),
        (
            MINIMAL.replace("type: text}", "type: text, when: {field: nope, equals: true}}"),
            "document",
            "not an earlier field",
        ),
        (
            MINIMAL.replace("type: text}", "type: date, birth_date: true, max: 2999-01-01}"),
            "steps[0].fields[0] (line 8)",
            "cannot be in the future",
        ),
        ("steps: [", "line 1", ""),
        ("- a\n- b\n", "document", "mapping"),
    ],
)
def test_invalid_spec_reports_path_and_line(text: str, where: str, what: str) -> None:
    with pytest.raises(SpecError) as caught:
        parse_spec(text, "bad.yaml")
    wheres = [w for w, _ in caught.value.problems]
    assert any(w.startswith(where) for w in wheres), caught.value.problems
    assert any(what in m for _, m in caught.value.problems), caught.value.problems


def test_every_problem_is_reported() -> None:
    text = MINIMAL.replace("type: text", "type: txt") + "colour: blue\n"
    with pytest.raises(SpecError) as caught:
        parse_spec(text, "bad.yaml")
    assert len(caught.value.problems) == 2


def test_unknown_flow_names_the_known_ones() -> None:
    with pytest.raises(UnknownFlowError, match="known flows: customer_feedback"):
        FlowCatalog().load("nope")
    with pytest.raises(UnknownFlowError, match="no flow spec file"):
        FlowCatalog().load("missing/flow.yaml")
