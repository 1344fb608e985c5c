"""Logs: JSON off a terminal, caller data dropped unless INTAKE_LOG_PII=1, no frame locals."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from service.logging import configure_logging
from service.settings import Settings


def capture(pii: bool) -> io.StringIO:
    stream = io.StringIO()
    configure_logging(Settings(log_pii=pii, log_format="json"), stream)
    return stream


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    yield
    logging.getLogger().handlers.clear()
    structlog.reset_defaults()


def test_caller_data_is_dropped_by_default() -> None:
    stream = capture(pii=False)
    structlog.get_logger("t").info("field.recorded", field="contact.email", pii_value="a@b.io")
    logging.getLogger("livekit.agents").info("dtmf", extra={"lk.pii.dtmf_inputs": "1 2 3"})
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert lines[0]["event"] == "field.recorded" and lines[0]["field"] == "contact.email"
    assert "pii_value" not in lines[0]
    assert lines[1]["event"] == "dtmf" and "lk.pii.dtmf_inputs" not in lines[1]


def test_library_records_keep_their_extras_but_not_a_coloured_copy_of_the_message() -> None:
    stream = capture(pii=False)
    logging.getLogger("uvicorn.error").info(
        "Finished server process [%d]",
        7,
        extra={"color_message": "Finished server process [\x1b[36m%d\x1b[0m]", "worker": 1},
    )
    record = json.loads(stream.getvalue())
    assert record["event"] == "Finished server process [7]" and record["worker"] == 1
    assert "color_message" not in record


def test_caller_data_is_kept_when_enabled() -> None:
    stream = capture(pii=True)
    structlog.get_logger("t").info("field.recorded", pii_value="a@b.io")
    assert json.loads(stream.getvalue())["pii_value"] == "a@b.io"


def test_tracebacks_carry_no_frame_locals() -> None:
    stream = capture(pii=False)
    secret = "1980-03-05"
    try:
        raise ValueError("boom")
    except ValueError:
        structlog.get_logger("t").exception("failed", local_hint=len(secret))
    assert secret not in stream.getvalue()
    assert json.loads(stream.getvalue())["exception"][0]["exc_type"] == "ValueError"
