"""``intake worker --check``: a real process against the local LiveKit (Twirp) server and a
real store; every problem on its own line, exit 2."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import dropping_server, postgres_execute
from fakes.livekit_server import FakeLiveKitServer
from livekit import api
from livekit.protocol import sip
from sqlalchemy.engine import make_url

from service.settings import LiveKitSettings, Settings
from service.store import CallStore
from service.worker_check import reach_livekit

INTAKE = str(Path(sys.executable).with_name("intake"))


@dataclass(frozen=True)
class Done:
    code: int
    stdout: str
    errors: list[str]  # the "intake: error: ..." lines, without the prefix
    warnings: list[str]


async def check(**settings: str) -> Done:
    base = {k: v for k, v in os.environ.items() if not k.startswith("INTAKE_")}
    process = await asyncio.create_subprocess_exec(
        INTAKE,
        "worker",
        "--check",
        env=base | {"INTAKE_LOG_LEVEL": "warning"} | settings,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    lines = err.decode().splitlines()
    assert not any("Traceback" in line for line in lines), err.decode()
    assert process.returncode is not None
    return Done(
        process.returncode,
        out.decode(),
        [line.removeprefix("intake: error: ") for line in lines if "intake: error: " in line],
        [line.removeprefix("intake: warning: ") for line in lines if "intake: warning: " in line],
    )


def live(livekit: FakeLiveKitServer, tmp_path: Path, **extra: str) -> dict[str, str]:
    """Settings that pass: the fake's URL and key, a store of its own, routed flows."""
    return {
        "INTAKE_LIVEKIT__URL": livekit.url.replace("http://", "ws://"),
        "INTAKE_LIVEKIT__API_KEY": livekit.api_key,
        "INTAKE_LIVEKIT__API_SECRET": livekit.api_secret,
        "INTAKE_OPENAI__API_KEY": "sk-test",
        "INTAKE_DEEPGRAM__API_KEY": "dg-test",
        "INTAKE_ROUTES": '{"+18005550100": "patient_intake"}',
        "INTAKE_DEFAULT_FLOW": "lead_qualification",
        "INTAKE_TRANSFER_TO": "+14155550999",
        "INTAKE_VOICE__TRANSFER_MODE": "cold",
        "INTAKE_DATA_DIR": str(tmp_path / "data"),
        "INTAKE_DATABASE__URL": f"sqlite:///{tmp_path / 'intake.db'}",
    } | extra


async def add_trunk(livekit: FakeLiveKitServer) -> str:
    async with api.LiveKitAPI(livekit.url, livekit.api_key, livekit.api_secret) as lkapi:
        trunk = await lkapi.sip.create_outbound_trunk(
            api.CreateSIPOutboundTrunkRequest(
                trunk=sip.SIPOutboundTrunkInfo(
                    name="carrier", address="sip.example.net", numbers=["+18005550100"]
                )
            )
        )
    return trunk.sip_trunk_id


async def test_a_worker_that_can_run_passes(livekit: FakeLiveKitServer, tmp_path: Path) -> None:
    trunk = await add_trunk(livekit)
    livekit.requests.clear()
    settings = live(
        livekit,
        tmp_path,
        INTAKE_LIVEKIT__SIP_OUTBOUND_TRUNK=trunk,
        INTAKE_VOICE__TRANSFER_MODE="warm",
    )
    done = await check(**settings)
    assert (done.code, done.errors, done.warnings) == (0, [], [])
    assert done.stdout == "worker configuration ok\n"
    calls = [(r.method, r.claims is not None) for r in livekit.requests]
    assert calls == [("ListRooms", True), ("ListSIPOutboundTrunk", True)]
    async with await CallStore.open(settings["INTAKE_DATABASE__URL"]) as store:
        assert await store.outbox.recent() == []  # migrated, and the test write left nothing


async def test_every_problem_has_its_own_line(livekit: FakeLiveKitServer, tmp_path: Path) -> None:
    settings = live(
        livekit,
        tmp_path,
        INTAKE_OPENAI__API_KEY="",
        INTAKE_DEEPGRAM__API_KEY="",
        INTAKE_ROUTES='{"+18005550100": "no_such_flow", "+18005550101": "patient_intake"}',
        INTAKE_TRANSFER_TO="",
        INTAKE_DATABASE__URL=f"sqlite:///{tmp_path / 'missing' / 'intake.db'}",
    )
    done = await check(**settings)
    assert done.code == 2
    assert done.errors[:2] == [
        "INTAKE_OPENAI__API_KEY is not set",
        "INTAKE_DEEPGRAM__API_KEY is not set",
    ]
    assert done.errors[2].startswith("INTAKE_ROUTES: +18005550100: unknown flow 'no_such_flow'")
    gaps = [line for line in done.errors if "nowhere to dial" in line]
    assert [gap.split(" transfers")[0] for gap in gaps] == [
        "flow patient_intake (INTAKE_ROUTES: +18005550101)",
        "flow lead_qualification (INTAKE_DEFAULT_FLOW)",
    ]
    assert done.errors[-1].startswith("INTAKE_DATABASE__URL: cannot open the database sqlite")
    assert "unable to open database file" in done.errors[-1]
    assert len(done.errors) == 6  # LiveKit answered: no line for it
    assert [r.method for r in livekit.requests] == ["ListRooms"]


async def test_credentials_livekit_refuses(livekit: FakeLiveKitServer, tmp_path: Path) -> None:
    done = await check(**live(livekit, tmp_path, INTAKE_LIVEKIT__API_SECRET="x" * 40))
    assert done.code == 2
    assert done.errors == [
        "INTAKE_LIVEKIT__API_KEY, INTAKE_LIVEKIT__API_SECRET: LiveKit at"
        f" {livekit.url.replace('http://', 'ws://')} refused them (HTTP 401)"
    ]


async def test_an_unreachable_or_unusable_url(livekit: FakeLiveKitServer, tmp_path: Path) -> None:
    done = await check(**live(livekit, tmp_path, INTAKE_LIVEKIT__URL="ws://127.0.0.1:9"))
    assert done.code == 2 and len(done.errors) == 1
    assert done.errors[0].startswith(
        "INTAKE_LIVEKIT__URL: cannot reach LiveKit at ws://127.0.0.1:9"
    )
    for url in ("ftp://livekit.example.com", "livekit.example.com"):
        done = await check(**live(livekit, tmp_path, INTAKE_LIVEKIT__URL=url))
        assert done.code == 2
        assert done.errors == [
            "INTAKE_LIVEKIT__URL: expected the LiveKit server's wss:// (or ws://, https://,"
            f" http://) URL, not {url!r}"
        ]
    assert livekit.requests == []


async def test_transfers_need_a_trunk_that_exists(
    livekit: FakeLiveKitServer, tmp_path: Path
) -> None:
    done = await check(**live(livekit, tmp_path, INTAKE_VOICE__TRANSFER_MODE="warm"))
    assert done.code == 2
    assert [line.split(" (INTAKE_")[0] for line in done.errors] == [
        "flow patient_intake",
        "flow lead_qualification",
    ]
    assert "set INTAKE_LIVEKIT__SIP_OUTBOUND_TRUNK" in done.errors[0]
    done = await check(**live(livekit, tmp_path, INTAKE_LIVEKIT__SIP_OUTBOUND_TRUNK="ST_gone"))
    assert done.errors == [
        "INTAKE_LIVEKIT__SIP_OUTBOUND_TRUNK: LiveKit at"
        f" {livekit.url.replace('http://', 'ws://')} has no outbound trunk ST_gone"
    ]
    named = live(livekit, tmp_path, INTAKE_LIVEKIT__SIP_OUTBOUND_TRUNK="twilio-out")
    assert (await check(**named)).errors == [
        "INTAKE_LIVEKIT__SIP_OUTBOUND_TRUNK: LiveKit at"
        f" {livekit.url.replace('http://', 'ws://')} has no outbound trunk twilio-out"
    ]
    trunk = api.SIPOutboundTrunkInfo(name="twilio-out", address="sip.example.com", numbers=["+1"])
    async with api.LiveKitAPI(livekit.url, livekit.api_key, livekit.api_secret) as lkapi:
        await lkapi.sip.create_outbound_trunk(api.CreateSIPOutboundTrunkRequest(trunk=trunk))
    assert (await check(**named)).errors == []


async def test_a_store_that_cannot_be_written(livekit: FakeLiveKitServer, tmp_path: Path) -> None:
    path = tmp_path / "intake.db"
    async with await CallStore.open(f"sqlite:///{path}"):
        pass  # created and migrated: opening it read-only works, writing does not
    read_only = f"sqlite:///file:{path}?mode=ro&uri=true"
    done = await check(**live(livekit, tmp_path, INTAKE_DATABASE__URL=read_only))
    assert done.code == 2
    assert len(done.errors) == 1 and done.errors[0].startswith("INTAKE_DATABASE__URL: sqlite:")
    assert done.errors[0].endswith(": the test write failed (attempt to write a readonly database)")


@pytest.mark.postgres
async def test_a_postgres_role_that_cannot_write(
    livekit: FakeLiveKitServer, tmp_path: Path, postgres_database: str
) -> None:
    store_url = postgres_database
    await postgres_execute(store_url, "DROP SCHEMA public CASCADE", "CREATE SCHEMA public")
    async with await CallStore.open(store_url):
        pass
    role = f"intake_reader_{secrets.token_hex(4)}"
    await postgres_execute(
        store_url,
        f"CREATE ROLE {role} LOGIN",
        f"GRANT USAGE ON SCHEMA public TO {role}",
        f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}",
    )
    try:
        reader = make_url(store_url).set(username=role).render_as_string(hide_password=False)
        done = await check(**live(livekit, tmp_path, INTAKE_DATABASE__URL=reader))
    finally:
        await postgres_execute(store_url, f"DROP OWNED BY {role}", f"DROP ROLE {role}")
    assert done.code == 2 and len(done.errors) == 1
    assert done.errors[0].endswith("the test write failed (permission denied for table calls)")


async def test_noise_cancellation_forced_on_without_its_plugin(
    livekit: FakeLiveKitServer, tmp_path: Path
) -> None:
    if importlib.util.find_spec("livekit.plugins.noise_cancellation") is not None:
        pytest.skip("the noise-cancellation extra is installed here")
    done = await check(**live(livekit, tmp_path, INTAKE_VOICE__NOISE_CANCELLATION="on"))
    assert done.code == 2
    assert done.errors == [
        "INTAKE_VOICE__NOISE_CANCELLATION=on needs the plugin: "
        "pip install 'intake[noise-cancellation]'"
    ]


async def test_a_livekit_that_drops_the_connection_is_unreachable() -> None:
    """A server that closes without answering: one line naming it, not a traceback."""

    async with dropping_server() as http_url:
        url = http_url.replace("http://", "ws://")
        settings = Settings(livekit=LiveKitSettings(url=url, api_key="k", api_secret="s" * 32))
        answer = await reach_livekit(settings)
    assert answer.kind == "unreachable", answer
    assert answer.problem is not None
    assert answer.problem.startswith(f"INTAKE_LIVEKIT__URL: cannot reach LiveKit at {url}: ")
