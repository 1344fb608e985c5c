"""The SIP outcome table: every SIP status and every error without one, for a dial and for a
transfer leg, fed with the errors LiveKit really returns (the local server's shapes)."""

from __future__ import annotations

import aiohttp
import pytest
from fakes import livekit_sip as shapes
from fakes.twirp import TwirpError, relayed
from livekit import api
from livekit.api.sip_service import _as_sip_error
from livekit.protocol import sip

from flows.engine.outcomes import DialFailure, DialOutcome, TransferFailure, TransferOutcome
from sip.statuses import (
    SIP_STATUSES,
    TRANSFER_REASONS,
    WITHOUT_SIP_STATUS,
    cause_of,
    dial_failure,
    transfer_failure,
    transfer_result,
)


def received(error: TwirpError) -> api.ServerError:
    """The exception livekit-api raises for this response (``SipCallError`` with SIP meta)."""
    return _as_sip_error(
        api.ServerError(error.code, error.msg, status=error.http_status, metadata=error.meta)
    )


def test_every_sip_final_response_has_a_row() -> None:
    final = {code for code in sip.SIPStatusCode.values() if code >= 300}
    assert set(SIP_STATUSES) == final


def test_no_failure_is_ever_connected() -> None:
    rows = [*SIP_STATUSES.values(), *WITHOUT_SIP_STATUS.values()]
    assert all(row.transfer != "connected" for row in rows)
    assert all(row.dial in ("busy", "no_answer", "failed") for row in rows)
    assert all(row.reason for row in rows)
    assert all(failure.outcome != "connected" for failure in TRANSFER_REASONS.values())


@pytest.mark.parametrize(
    ("sip_code", "dial", "retryable", "transfer"),
    [
        # The deliberate differences between the columns.
        (486, "busy", True, "no_answer"),
        (600, "busy", True, "no_answer"),
        (603, "no_answer", True, "declined"),  # this call rejected: try again another time
        (607, "failed", False, "declined"),
        # Not answering.
        (408, "no_answer", True, "no_answer"),
        (480, "no_answer", True, "no_answer"),
        (487, "no_answer", True, "no_answer"),
        # Numbers that do not exist: never again.
        (404, "failed", False, "failed"),
        (410, "failed", False, "failed"),
        (484, "failed", False, "failed"),
        (604, "failed", False, "failed"),
        # The trunk's setup or the carrier's refusal: a retry repeats it.
        (401, "failed", False, "failed"),
        (403, "failed", False, "failed"),
        (405, "failed", False, "failed"),
        (429, "failed", False, "failed"),  # "Provide Referrer Identity", not a rate limit
        (488, "failed", False, "failed"),
        (501, "failed", False, "failed"),
        (608, "failed", False, "failed"),
        # The carrier's passing trouble.
        (500, "failed", True, "failed"),
        (503, "failed", True, "failed"),
        (504, "failed", True, "failed"),
        (580, "failed", True, "failed"),  # unlisted
    ],
)
def test_sip_statuses(
    sip_code: int, dial: DialOutcome, retryable: bool, transfer: TransferOutcome
) -> None:
    dial_error = received(shapes.invite_failure(sip_code))
    failure = dial_failure(dial_error)
    assert (failure.outcome, failure.retryable, failure.sip_status) == (dial, retryable, sip_code)
    transfer_error = received(shapes.transfer_failure(sip_code, transfer_id="STR_x"))
    assert transfer_failure(transfer_error) == TransferFailure(transfer, sip_code, failure.reason)
    refer_error = received(shapes.transfer_failure(sip_code, transfer_id="STR_x", refer=True))
    assert transfer_failure(refer_error).outcome == transfer


@pytest.mark.parametrize(
    ("error", "cause", "dial", "retryable", "transfer"),
    [
        (shapes.RINGING_TIMEOUT, "ringing_timeout", "no_answer", True, "no_answer"),
        (shapes.SERVER_DEADLINE, "server_deadline", "no_answer", True, "no_answer"),
        (shapes.BRIDGE_DEADLINE, "ringing_deadline", "no_answer", True, "no_answer"),
        (shapes.ANSWER_RACE, "ringing_deadline", "no_answer", True, "no_answer"),
        (shapes.transaction_timeout(2), "no_final_response", "failed", True, "failed"),
        (shapes.TRUNK_NOT_FOUND, "trunk_not_found", "failed", False, "failed"),
        (shapes.NO_TRUNK_NUMBERS, "trunk_no_numbers", "failed", False, "failed"),
        (
            relayed("failed_precondition", "max auth retry attempts reached for SIP invite"),
            "trunk_credentials",
            "failed",
            False,
            "failed",
        ),
        (
            TwirpError("invalid_argument", "missing sip callee number"),
            "invalid_request",
            "failed",
            False,
            "failed",
        ),
        (
            TwirpError("unauthenticated", "permissions denied"),
            "unauthenticated",
            "failed",
            False,
            "failed",
        ),
        (shapes.NO_SIP_SERVICE, "sip_unavailable", "failed", True, "failed"),
        (shapes.SIP_OVERLOADED, "sip_unavailable", "failed", True, "failed"),
        (shapes.TRANSFER_UNSUPPORTED, "unsupported", "failed", False, "failed"),
        (
            relayed("not_found", "participant does not exist"),
            "not_found",
            "failed",
            False,
            "failed",
        ),
        (
            relayed("failed_precondition", "can't transfer hung up call"),
            "refused",
            "failed",
            True,
            "failed",
        ),
        (relayed("canceled", "request canceled"), "cancelled", "failed", True, "failed"),
        (relayed("internal", "update room failed: boom"), "server_error", "failed", True, "failed"),
        (relayed("unknown", "listen udp: no ports"), "server_error", "failed", True, "failed"),
    ],
)
def test_failures_without_a_sip_status(
    error: TwirpError, cause: str, dial: DialOutcome, retryable: bool, transfer: TransferOutcome
) -> None:
    exc = received(error)
    assert cause_of(exc) == cause
    assert dial_failure(exc) == DialFailure(dial, retryable, None, WITHOUT_SIP_STATUS[cause].reason)
    assert transfer_failure(exc).outcome == transfer


@pytest.mark.parametrize(
    ("exc", "cause", "dial"),
    [
        (TimeoutError(), "client_timeout", "no_answer"),  # livekit-api's ringing timeout + 2 s
        (aiohttp.ConnectionTimeoutError(), "unreachable", "failed"),
        (aiohttp.ServerDisconnectedError(), "unreachable", "failed"),
        (ConnectionRefusedError(), "unreachable", "failed"),
        (api.ServerError("unknown", "", status=401), "unauthenticated", "failed"),  # bad secret
        (RuntimeError("a bug"), "unexpected", "failed"),
    ],
)
def test_the_clients_own_errors(exc: BaseException, cause: str, dial: str) -> None:
    assert cause_of(exc) == cause
    assert dial_failure(exc).outcome == dial


def test_a_reason_never_quotes_the_server() -> None:
    error = relayed("invalid_argument", "invalid request URI: sip:+14155550123@pbx")
    assert "4155550123" not in dial_failure(received(error)).reason


@pytest.mark.parametrize(
    ("transfer_reason", "outcome"),
    [
        ("STR_RINGING_TIMEOUT", "no_answer"),
        ("STR_REJECTED", "declined"),
        ("STR_CALL_ENDED", "failed"),
        ("STR_SUBSCRIPTION_TERMINATED", "failed"),
        ("STR_CANCELED", "failed"),
    ],
)
def test_transfer_reasons_without_a_sip_status(transfer_reason: str, outcome: str) -> None:
    # As livekit-api's own tests shape a transfer that rang out: no SIP status.
    meta = {"sip_transfer_reason": transfer_reason, "sip_transfer_id": "STR_abc"}
    exc = received(TwirpError("deadline_exceeded", "call transfer failed", meta))
    assert isinstance(exc, api.SipCallError)
    assert transfer_failure(exc).outcome == outcome


def test_a_subscription_that_ends_without_a_final_status_failed() -> None:
    exc = received(shapes.subscription_terminated("STR_x"))
    assert transfer_failure(exc) == TRANSFER_REASONS["STR_SUBSCRIPTION_TERMINATED"]


@pytest.mark.parametrize(
    ("response", "outcome"),
    [
        (shapes.transfer_completed("STR_x"), None),
        (sip.TransferSIPParticipantResponse(), None),  # servers before livekit/sip#807
        (shapes.transfer_call_ended("STR_x"), "failed"),
        (
            sip.TransferSIPParticipantResponse(
                transfer_id="STR_x",
                status=sip.STS_TRANSFER_FAILED,
                reason=sip.STR_REJECTED,
                sip_status=sip.SIPStatus(code=sip.SIP_STATUS_BUSY_HERE, status="Busy Here"),
            ),
            "no_answer",
        ),
        (
            sip.TransferSIPParticipantResponse(
                transfer_id="STR_x", status=sip.STS_TRANSFER_FAILED, reason=sip.STR_RINGING_TIMEOUT
            ),
            "no_answer",
        ),
        (
            sip.TransferSIPParticipantResponse(
                transfer_id="STR_x", status=sip.STS_TRANSFER_FAILED, reason=sip.STR_REJECTED
            ),
            "declined",
        ),
        (sip.TransferSIPParticipantResponse(transfer_id="STR_x"), "failed"),  # still ongoing
    ],
)
def test_what_a_200_says(response: sip.TransferSIPParticipantResponse, outcome: str | None) -> None:
    failure = transfer_result(response)
    assert (failure.outcome if failure else None) == outcome
