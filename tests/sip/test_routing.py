"""Inbound routing and outbound job metadata."""

from __future__ import annotations

import json

import pytest

from sip.dialing import OutboundJob, dialable, parse_job_metadata
from sip.dispatch import InboundDispatch
from sip.errors import JobMetadataError, RoutingError
from sip.routing import route_inbound
from sip.statuses import dial_failure_for_sip_status

ROUTES = {"+18005550100": "patient_intake"}


def test_dialed_number_picks_the_flow_and_the_caller_is_from() -> None:
    route = route_inbound(
        {"sip.trunkPhoneNumber": "+1 800 555 0100", "sip.phoneNumber": "(415) 555-0123"},
        ROUTES,
        None,
        region="US",
    )
    assert (route.flow, route.caller, route.dialed) == (
        "patient_intake",
        "+14155550123",
        "+18005550100",
    )


def test_default_flow_and_withheld_caller() -> None:
    route = route_inbound(
        {"sip.trunkPhoneNumber": "+18005550111"}, ROUTES, "lead_qualification", region="US"
    )
    assert (route.flow, route.caller) == ("lead_qualification", None)


def test_no_route_names_the_settings() -> None:
    with pytest.raises(RoutingError, match="INTAKE_ROUTES"):
        route_inbound({"sip.trunkPhoneNumber": "+18005550111"}, ROUTES, None, region="US")


def test_outbound_metadata() -> None:
    job = parse_job_metadata(
        json.dumps({"call_id": "call_01ABCDEF", "to": "+14155550123", "flow": "customer_feedback"})
    )
    assert isinstance(job, OutboundJob)
    assert (job.to, job.from_, job.metadata) == ("+14155550123", None, {})
    assert parse_job_metadata("") is None


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        ("{", "not JSON"),
        (json.dumps({"to": "+1", "flow": "x"}), "call_id"),
        (
            json.dumps({"call_id": "call_01ABCDEF", "to": "+14155550123", "flow": "x", "extra": 1}),
            "extra",
        ),
    ],
)
def test_bad_outbound_metadata(raw: str, needle: str) -> None:
    with pytest.raises(JobMetadataError, match=needle):
        parse_job_metadata(raw)


def test_the_dispatch_rules_flow_wins_over_the_routes_setting() -> None:
    # What `intake provision` writes into a dispatch rule is what the worker reads back.
    written = InboundDispatch(flow="lead_qualification").to_metadata()
    dispatch = parse_job_metadata(written)
    assert dispatch == InboundDispatch(flow="lead_qualification")
    assert isinstance(dispatch, InboundDispatch)
    route = route_inbound(
        {"sip.trunkPhoneNumber": "+18005550100"},
        ROUTES,
        None,
        region="US",
        dispatched_flow=dispatch.flow,
    )
    assert route.flow == "lead_qualification"


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        (json.dumps({"direction": "inbound"}), "flow"),
        (json.dumps({"direction": "inbound", "flow": ""}), "flow"),
        (json.dumps({"direction": "inbound", "flow": "x", "room": "y"}), "room"),
    ],
)
def test_bad_inbound_dispatch_metadata(raw: str, needle: str) -> None:
    with pytest.raises(JobMetadataError, match=needle):
        parse_job_metadata(raw)


def test_invalid_numbers_are_not_dialed_and_not_retried() -> None:
    failure = dialable("555", "US")
    assert not isinstance(failure, str) and (failure.outcome, failure.retryable) == (
        "failed",
        False,
    )
    assert dialable("415 555 0123", "US") == "+14155550123"
    assert dial_failure_for_sip_status(999).retryable  # a status no table lists: one retry
