"""Commands that run no call never import livekit.agents (seconds of start-up): each one is
run in a fresh interpreter and ``sys.modules`` is read afterwards. ``serve`` itself is
checked serving requests in tests/service/api/test_cli_serve.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILTIN = ROOT / "flows" / "spec" / "builtin" / "patient_intake.yaml"

PROBE = """
import contextlib, io, json, sys
from service.cli.main import main
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    code = main(sys.argv[1:])
loaded = [name for name in ("livekit.agents", "livekit") if name in sys.modules]
print(json.dumps({"code": code, "loaded": loaded}))
"""


def run_fresh(tmp_path: Path, *args: str) -> dict[str, object]:
    env = dict(os.environ, INTAKE_DATA_DIR=str(tmp_path))
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize(
    "args",
    [
        ("--help",),
        ("flows", "list"),
        ("flows", "show", "patient_intake"),
        ("flows", "check", str(BUILTIN)),
        ("deliveries", "list"),
        ("calls", "show", "call_01ARZ3NDEKTSV4RRFFQ69G5FAV"),
        ("keys", "list"),
        ("serve", "--help"),
    ],
    ids=lambda args: " ".join(args[:2]),
)
def test_commands_that_run_no_call_never_import_livekit_agents(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    result = run_fresh(tmp_path, *args)
    assert result["code"] in (0, 2)  # 2: no such call; the command still ran
    assert result["loaded"] == []


def test_a_command_that_runs_a_call_does_load_it(tmp_path: Path) -> None:
    """The probe can fail: simulate needs livekit.agents and the probe sees it."""
    scenario = ROOT / "examples" / "scenarios" / "patient_intake" / "full_intake.yaml"
    result = run_fresh(tmp_path, "simulate", "patient_intake", str(scenario))
    assert result["code"] == 0
    assert "livekit.agents" in result["loaded"]  # type: ignore[operator]
