"""``intake provision`` as an operator meets it: plan, apply, a second run that changes
nothing, --dry-run, --export, and one line with exit 2 for every bad file."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fakes.livekit_server import FakeLiveKitServer

from service.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "deploy" / "compose" / "telephony.example.yaml"
WRITES = {"Create", "Update", "Delete"}


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, livekit: FakeLiveKitServer) -> dict[str, str]:
    for name in [n for n in os.environ if n.startswith("INTAKE_")]:
        monkeypatch.delenv(name)
    settings = {
        "INTAKE_LIVEKIT__URL": livekit.url,
        "INTAKE_LIVEKIT__API_KEY": livekit.api_key,
        "INTAKE_LIVEKIT__API_SECRET": livekit.api_secret,
        "INTAKE_LOG_LEVEL": "warning",
        "SIP_OUTBOUND_PASSWORD": "out-secret-7",
    }
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    return settings


async def provision(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """The command in-process, in a thread: it runs its own event loop, as from a shell,
    while the local LiveKit server answers on the test's."""
    code = await asyncio.to_thread(main, ["provision", *args])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def writes(livekit: FakeLiveKitServer) -> list[str]:
    return [r.method for r in livekit.requests if r.method.startswith(tuple(WRITES))]


async def test_plan_apply_and_a_second_run_that_changes_nothing(
    livekit: FakeLiveKitServer, env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = await provision(capsys, str(EXAMPLE), "--dry-run")
    assert (code, err) == (0, "")
    assert "create inbound trunk  twilio" in out and out.endswith("dry run: nothing was changed\n")
    assert writes(livekit) == []

    code, out, err = await provision(capsys, str(EXAMPLE))
    assert (code, err) == (0, "")
    assert writes(livekit) == [
        "CreateSIPInboundTrunk",
        "CreateSIPOutboundTrunk",
        "CreateSIPDispatchRule",
        "CreateSIPDispatchRule",
    ]
    [outbound] = livekit.outbound_trunks
    assert f"INTAKE_LIVEKIT__SIP_OUTBOUND_TRUNK={outbound}" in out
    assert "out-secret-7" not in out

    livekit.requests.clear()
    code, out, err = await provision(capsys, str(EXAMPLE))
    assert (code, err) == (0, "")
    assert out == "nothing to change: LiveKit holds what the file asks (4 objects)\n"
    assert writes(livekit) == []


@pytest.fixture
async def provisioned(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    """LiveKit already holds the example file's trunks and rules."""
    assert (await provision(capsys, str(EXAMPLE)))[0] == 0


@pytest.mark.usefixtures("provisioned")
async def test_a_dry_run_of_a_change_changes_nothing(
    livekit: FakeLiveKitServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    changed = tmp_path / "telephony.yaml"
    changed.write_text(EXAMPLE.read_text().replace("krisp: true", "krisp: false"))

    def stored() -> dict[str, bytes]:
        return {k: v.SerializeToString() for k, v in livekit.inbound_trunks.items()}

    before = stored()
    livekit.requests.clear()
    code, out, _ = await provision(capsys, str(changed), "--dry-run")
    assert code == 0
    assert "update inbound trunk  twilio" in out and "krisp True -> False" in out
    assert writes(livekit) == [] and stored() == before


@pytest.mark.usefixtures("provisioned")
async def test_export_prints_a_file_provision_takes_back(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, err = await provision(capsys, "--export")
    assert (code, err) == (0, "")
    assert "out-secret-7" not in out and "password_env: SIP_OUTBOUND_PASSWORD" in out
    exported = tmp_path / "exported.yaml"
    exported.write_text(out)
    code, out, _ = await provision(capsys, str(exported))
    assert (code, out.splitlines()[0]) == (
        0,
        "nothing to change: LiveKit holds what the file asks (4 objects)",
    )


async def test_livekit_failures_are_one_line(
    livekit: FakeLiveKitServer, env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    livekit.sip_store = False  # livekit-server without Redis: its trouble, exit 1
    code, _, err = await provision(capsys, str(EXAMPLE))
    assert code == 1
    assert err == (
        "intake: error: LiveKit answered HTTP 500 internal: twirp error unknown: sip not"
        " connected (redis required)\n"
    )
    livekit.sip_store = True
    livekit.api_secret = "another-secret-of-at-least-32-bytes"  # the key is refused: exit 2
    code, _, err = await provision(capsys, str(EXAMPLE))
    assert code == 2 and len(err.splitlines()) == 1
    assert "refused INTAKE_LIVEKIT__API_KEY and INTAKE_LIVEKIT__API_SECRET" in err


OPEN_TRUNK = """\
inbound:
  - name: open
    numbers: ["+18005550100"]
    routes: [{number: "+18005550100", flow: patient_intake}]
"""


@pytest.mark.parametrize(
    ("text", "args", "expected"),
    [
        (OPEN_TRUNK, (), "inbound[0] (line 2): inbound trunk open is open to anyone"),
        ("inbound: {}\n", (), "inbound (line 1): Input should be a valid list"),
        ("inbound:\n  - name: x\n    numbers: [+1]\n", (), "inbound[0].numbers[0] (line 3)"),
        ("", (), "document: the file is empty"),
        (
            OPEN_TRUNK.replace(
                "    routes", "    auth: {username: u, password_env: NOPE}\n    routes"
            ),
            (),
            "inbound[0].auth.password_env (line 4): the environment variable NOPE is not set",
        ),
        (
            OPEN_TRUNK.replace(
                "    routes", "    allowed_addresses: [10.0.0.1]\n    routes"
            ).replace("patient_intake", "nope"),
            (),
            "inbound[0].routes[0].flow (line 5): unknown flow 'nope'",
        ),
        (OPEN_TRUNK, ("--export",), "give either a telephony FILE or --export"),
        (None, (), "cannot read the telephony file"),
    ],
)
def test_every_bad_file_is_exit_2_and_one_line(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    text: str | None,
    args: tuple[str, ...],
    expected: str,
) -> None:
    monkeypatch.setenv("INTAKE_LIVEKIT__URL", "http://127.0.0.1:9")  # never reached
    monkeypatch.setenv("INTAKE_LIVEKIT__API_KEY", "k")
    monkeypatch.setenv("INTAKE_LIVEKIT__API_SECRET", "s")
    path = tmp_path / "telephony.yaml"
    if text is not None:
        path.write_text(text)
    code = main(["provision", str(path), *args])
    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    [line] = err.splitlines()
    assert line.startswith("intake: error: ") and expected in line, line


def test_without_livekit_credentials(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in [n for n in os.environ if n.startswith("INTAKE_LIVEKIT")]:
        monkeypatch.delenv(name)
    monkeypatch.delenv("SIP_OUTBOUND_PASSWORD", raising=False)
    assert main(["provision", str(EXAMPLE)]) == 2  # the file is checked first, offline
    assert "SIP_OUTBOUND_PASSWORD is not set" in capsys.readouterr().err
    monkeypatch.setenv("SIP_OUTBOUND_PASSWORD", "secret")
    assert main(["provision", str(EXAMPLE)]) == 2
    assert capsys.readouterr().err == (
        "intake: error: INTAKE_LIVEKIT__URL: needed to provision SIP trunks and dispatch rules\n"
    )


async def test_the_command_never_imports_livekit_agents(
    livekit: FakeLiveKitServer, env: dict[str, str]
) -> None:
    """It runs where no worker does (an operator's laptop, a CI job): livekit-api only."""
    script = (
        "import sys; from service.cli.main import main; code = main(sys.argv[1:]);"
        " loaded = sorted(m for m in sys.modules if m.startswith('livekit.agents'));"
        " print(code, loaded)"
    )
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", script, "provision", str(EXAMPLE), "--dry-run"],
        env=os.environ | env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert done.stdout.splitlines()[-1] == "0 []", done.stderr
