"""``intake worker``: run the LiveKit worker (or just check its configuration)."""

from __future__ import annotations

import asyncio
import sys
from typing import Annotated

import typer

from service.cli_context import settings_of
from service.settings import prepare_data_dir


def worker(
    ctx: typer.Context,
    dev: Annotated[
        bool,
        typer.Option(
            "--dev", help="Development mode: no idle processes kept warm, reload-friendly."
        ),
    ] = False,
    check: Annotated[
        bool,
        typer.Option("--check", help="Validate settings, credentials and routed flows, then exit."),
    ] = False,
) -> None:
    """Run the telephony worker: answers inbound SIP calls routed to the agent name and
    places outbound calls dispatched to it.

    Modes: default production (process per call, INTAKE_WORKER__IDLE_PROCESSES kept warm,
    SIGTERM drains running calls for up to INTAKE_WORKER__DRAIN_TIMEOUT seconds);
    --dev for development; --check to validate configuration without connecting.
    Needs INTAKE_LIVEKIT__URL/__API_KEY/__API_SECRET, INTAKE_OPENAI__API_KEY and
    INTAKE_DEEPGRAM__API_KEY; see the README for routing, transfer and voice settings.
    """
    from service.worker import build_server, check_worker_settings, serve

    settings = settings_of(ctx)
    prepare_data_dir(settings)  # the spool, and the default SQLite file
    for warning in check_worker_settings(settings):
        print(f"intake: warning: {warning}", file=sys.stderr)
    if check:
        print("worker configuration ok")
        return
    asyncio.run(serve(build_server(settings, dev=dev), settings, dev=dev))
