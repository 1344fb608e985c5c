"""The command line as a user meets it: outputs, exit codes, one-line errors."""

from __future__ import annotations

import gc
import json
from pathlib import Path

import pytest

from service.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "examples" / "scenarios"
CONTRACT_KEYS = [
    "job_id",
    "room_id",
    "room",
    "started_at",
    "ended_at",
    "summary",
    "results",
    "type",
    "call_id",
    "flow",
    "flow_version",
    "direction",
    "from",
    "to",
    "status",
    "ended_reason",
    "fields",
    "transfer",
    "metadata",
]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("intake: error:")]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def test_every_example_scenario_passes(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("INTAKE_TRANSFER_TO", raising=False)  # *_no_destination.yaml need none
    code, out, _ = run(capsys, "test", str(SCENARIOS))
    assert code == 0, out
    assert "0 failed" in out


def test_each_builtin_flow_has_five_scenarios_with_expectations() -> None:
    for flow in ("customer_feedback", "patient_intake", "lead_qualification"):
        files = [p for p in (SCENARIOS / flow).glob("*.yaml") if "expect:" in p.read_text()]
        assert len(files) >= 5, flow


def test_simulate_prints_the_contract_payload(capsys: pytest.CaptureFixture[str]) -> None:
    scenario = SCENARIOS / "patient_intake" / "full_intake.yaml"
    code, out, err = run(capsys, "simulate", "patient_intake", str(scenario))
    assert code == 0, err
    payload = json.loads(out)
    assert list(payload) == CONTRACT_KEYS
    assert payload["type"] == "call.ended" and payload["call_id"].startswith("call_")
    assert payload["started_at"].endswith("Z") and payload["job_id"].startswith("AJ_")
    assert set(payload["results"]) == {
        "patient",
        "contact",
        "visit",
        "medications",
        "allergies",
        "insurance",
        "appointment",
    }
    assert len(payload["fields"]) == 12
    # caller data stays out of the logs unless INTAKE_LOG_PII is set
    assert "Jane" not in err and "lisinopril" not in err
    # the summary never names a value, least of all a sensitive one
    assert "1980" not in payload["summary"] and "lisinopril" not in payload["summary"]


def test_failed_expectation_exits_non_zero(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    scenario = tmp_path / "wrong.yaml"
    scenario.write_text(
        "flow: customer_feedback\ndirection: outbound\nto: '+14155550123'\n"
        "answers: {welcome: 'no'}\nexpect: {status: completed}\n"
    )
    code, out, _ = run(capsys, "test", str(scenario))
    assert code == 1
    assert "FAILED" in out and "status: expected 'completed', got 'declined'" in out


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["simulate", "nope", "x.yaml"], "unknown flow 'nope'"),
        (["simulate", "patient_intake", "/no/such/scenario.yaml"], "cannot read the scenario"),
        (["simulate", "/no/such/flow.yaml", "x.yaml"], "no flow spec file"),
        (["flows", "show", "nope"], "unknown flow"),
        (["simulate"], "Missing argument"),
        (["frobnicate"], "No such command"),
        (["test", "/no/such/dir"], "no such file or directory"),
    ],
)
def test_bad_input_is_one_line_exit_2(
    capsys: pytest.CaptureFixture[str], args: list[str], needle: str
) -> None:
    code, _, err = run(capsys, *args)
    assert code == 2
    assert needle in error_line(err)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("answers: [1, 2\n", "line 2"),
        ("answers: {patient.fullname: jane}\n", "answers.patient.fullname: the flow"),
        ("direction: sideways\n", "direction"),
        ("answers: {patient.full_name: {dtmf: 'abc'}}\n", "answers.patient.full_name"),
        ("from: 'not a number'\n", "from: not a valid phone number"),
        ("hangup_after: visit.nothing\n", "hangup_after"),
        ("colour: blue\n", "colour (line 1): unknown key"),
        ("- just\n- a list\n", "expected a mapping"),
        ("", "the file is empty"),
    ],
)
def test_invalid_scenario_is_one_line_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str, needle: str
) -> None:
    scenario = tmp_path / "bad.yaml"
    scenario.write_text(text)
    code, out, err = run(capsys, "simulate", "patient_intake", str(scenario))
    assert (code, out) == (2, "")
    assert needle in error_line(err)


def test_invalid_spec_is_one_line_for_simulate_and_every_problem_for_check(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    spec = tmp_path / "bad_flow.yaml"
    spec.write_text(
        "id: bad\nname: Bad\nwelcome: {message: hi}\n"
        "steps:\n  - id: one\n    fields:\n      - {id: a, type: txt}\n"
        "      - {id: b, type: integer, min: 9, max: 1}\n"
    )
    scenario = tmp_path / "s.yaml"
    scenario.write_text("answers: {}\n")
    code, _, err = run(capsys, "simulate", str(spec), str(scenario))
    assert code == 2
    assert "steps[0].fields[0] (line 7)" in error_line(err) and "and 1 more" in err
    code, out, _ = run(capsys, "flows", "check", str(spec))
    assert code == 2
    assert "steps[0].fields[0] (line 7)" in out and "steps[0].fields[1] (line 8)" in out


def test_flows_list_show_check(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "flows", "list")
    assert code == 0
    assert all(f in out for f in ("customer_feedback", "lead_qualification", "patient_intake"))
    code, out, _ = run(capsys, "flows", "show", "patient_intake")
    assert code == 0 and "member_id" in out and "when has_insurance" in out
    code, out, _ = run(capsys, "flows", "show", "patient_intake", "--json")
    assert json.loads(out)["id"] == "patient_intake"
    builtin = ROOT / "flows" / "spec" / "builtin" / "lead_qualification.yaml"
    code, out, _ = run(capsys, "flows", "check", str(builtin))
    assert code == 0 and "ok (lead_qualification" in out


def test_main_turns_on_again_the_collector_the_console_script_paused(
    capsys: pytest.CaptureFixture[str],
) -> None:
    gc.disable()  # as service/cli/entry.py leaves it once the command line is loaded
    try:
        assert main(["flows", "list"]) == 0
        assert gc.isenabled()
    finally:
        gc.enable()
    assert "patient_intake" in capsys.readouterr().out


def test_bad_setting_names_the_variable(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INTAKE_TRANSFER_TO", "call my mum")
    code, _, err = run(capsys, "flows", "list")
    assert code == 2
    assert "INTAKE_TRANSFER_TO" in error_line(err)


def test_transfer_destination_from_settings(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("INTAKE_TRANSFER_TO", "+1 (415) 555-0999")
    scenario = tmp_path / "person.yaml"
    scenario.write_text(
        "from: '+14155550123'\ntransfer: {outcome: connected}\n"
        "answers: {patient.full_name: 'I want to speak to a real person'}\n"
    )
    code, out, _ = run(capsys, "simulate", "patient_intake", str(scenario))
    assert code == 0
    payload = json.loads(out)
    assert payload["status"] == "transferred"
    assert payload["transfer"] == {
        "to": "+14155550999",
        "reason": "caller_request",
        "outcome": "connected",
    }


def test_console_reads_the_caller_from_stdin() -> None:
    import subprocess
    import sys

    intake = str(Path(sys.executable).with_name("intake"))
    done = subprocess.run(
        [intake, "console", "patient_intake", "--from", "+1 415 555 0123"],
        input="jane doe\n#03051980\n#1\n/hangup\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert payload["results"]["patient"] == {"full_name": "Jane Doe", "date_of_birth": "1980-03-05"}
    assert (payload["from"], payload["ended_reason"]) == ("+14155550123", "caller_hangup")
    assert "What is the patient's full name?" in done.stderr
