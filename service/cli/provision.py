"""``intake provision FILE [--dry-run]`` and ``intake provision --export``.

Reads what LiveKit holds through livekit-api, prints the plan, applies only the
difference, and touches only objects it made (their metadata carries its marker). This
path imports livekit-api, never livekit.agents: it runs where no worker does.
Exit codes: 0 done (or nothing to do); 2 a bad file, an open trunk, bad settings or a
request LiveKit refused; 1 LiveKit (or the network to it) failed: run it again.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from service.cli.context import settings_of
from service.errors import ServiceError
from service.settings import Settings, flow_catalog

if TYPE_CHECKING:  # livekit-api and the file's models load when the command runs
    from sip.provisioning_state import Record

NEEDED_TO = "provision SIP trunks and dispatch rules"


def provision(
    ctx: typer.Context,
    file: Annotated[
        Path | None, typer.Argument(help="The telephony file (YAML): trunks and routes.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the plan and change nothing.")
    ] = False,
    export: Annotated[
        bool,
        typer.Option("--export", help="Print what LiveKit holds as a telephony file."),
    ] = False,
) -> None:
    """Create, update and delete LiveKit SIP trunks and dispatch rules to match FILE.

    Needs INTAKE_LIVEKIT__URL, __API_KEY and __API_SECRET (with the SIP admin grant); the
    routes' agent is INTAKE_LIVEKIT__AGENT_NAME. Passwords come from the environment
    variables the file names (password_env). Objects it did not make are left alone."""
    settings = settings_of(ctx)
    if export == (file is not None):
        raise ServiceError("give either a telephony FILE or --export")
    if export and dry_run:
        raise ServiceError("--dry-run goes with a telephony FILE, not --export")
    from sip.errors import LiveKitRefusal, ProvisioningError

    try:
        # The file first: its mistakes are found without LiveKit or its credentials.
        records = None if file is None else _load(file, settings)
        url, key, secret = settings.livekit.credentials(NEEDED_TO)
        if records is None:
            print(asyncio.run(_export(url, key, secret)), end="")
            return
        asyncio.run(_provision(url, key, secret, records, dry_run=dry_run))
    except ProvisioningError as exc:
        raise ServiceError(str(exc)) from None
    except LiveKitRefusal as exc:
        if not exc.retryable:
            raise ServiceError(str(exc)) from None
        print(f"intake: error: {exc}", file=sys.stderr)
        raise typer.Exit(1) from None
    if settings.routes and file is not None:
        print(
            "intake: warning: INTAKE_ROUTES is set: calls to provisioned numbers follow the"
            " telephony file's routes (the dispatch rules), so keep INTAKE_ROUTES for numbers"
            " routed by hand only",
            file=sys.stderr,
        )


def _load(file: Path, settings: Settings) -> list[Record]:
    from flows.errors import FlowError
    from sip.provisioning import load_telephony

    catalog = flow_catalog(settings)

    def flow_problem(flow: str) -> str | None:
        try:
            catalog.load(flow)
        except FlowError as exc:
            return str(exc)
        return None

    _, records = load_telephony(
        file,
        agent_name=settings.livekit.agent_name,
        flow_problem=flow_problem,
        max_bytes=settings.max_document_bytes,
    )
    return records


async def _provision(
    url: str, key: str, secret: str, wanted: list[Record], *, dry_run: bool
) -> None:
    from livekit import api

    from sip.provisioning_livekit import LiveKitTelephony
    from sip.provisioning_plan import apply_plan, plan_changes

    async with api.LiveKitAPI(url, key, secret, failover=False) as lkapi:
        port = LiveKitTelephony(lkapi, url=url)
        existing = await port.read()
        plan = plan_changes(wanted, existing)
        for change in plan.changes:
            print(change.describe())
        print(plan.summary())
        if dry_run or not plan.changes:
            if dry_run and plan.changes:
                print("dry run: nothing was changed")
            return
        async for done in apply_plan(plan, existing, port):
            print(done.describe(), flush=True)
            if done.change.kind == "outbound trunk" and done.change.action == "create":
                print(
                    f"  to dial through it, set INTAKE_LIVEKIT__SIP_OUTBOUND_TRUNK={done.object_id}"
                    f" (or its name, {done.change.name}) for intake worker and intake serve"
                )


async def _export(url: str, key: str, secret: str) -> str:
    from livekit import api

    from sip.provisioning import export_file
    from sip.provisioning_livekit import LiveKitTelephony

    async with api.LiveKitAPI(url, key, secret, failover=False) as lkapi:
        existing = await LiveKitTelephony(lkapi, url=url).read()
    header = "# LiveKit's trunks and dispatch rules made by `intake provision`"
    if existing.foreign:
        header += f"; {existing.foreign} others left out"
    return f"{header}\n{export_file(existing)}"
