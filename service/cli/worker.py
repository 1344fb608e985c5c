"""``intake worker``: run the LiveKit worker (or check everything it needs)."""

from __future__ import annotations

import asyncio
import sys
from typing import Annotated

import typer

from service.cli.context import settings_of
from service.errors import ConfigError
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
        typer.Option(
            "--check",
            help="Check settings, routed flows, LiveKit (one API call) and the store (a test"
            " write); print every problem, exit 2 if there is one.",
        ),
    ] = False,
) -> None:
    """Run the telephony worker: answers inbound SIP calls routed to the agent name and
    places outbound calls dispatched to it.

    Modes: default production (INTAKE_WORKER__JOB_EXECUTOR: a process per call, or threads;
    at most INTAKE_WORKER__MAX_CALLS at once; SIGTERM drains running calls for up to
    INTAKE_WORKER__DRAIN_TIMEOUT seconds, a second one stops without waiting); --dev for
    development; --check to check everything without taking calls.
    Exit codes: 0 stopped as asked; 1 could not run or lost LiveKit; 2 bad configuration
    (or LiveKit refused the credentials); 130/143 stopped by a second signal.
    Needs INTAKE_LIVEKIT__URL/__API_KEY/__API_SECRET, INTAKE_OPENAI__API_KEY and
    INTAKE_DEEPGRAM__API_KEY; see the README for routing, transfer and voice settings.
    """
    from service.worker_check import check_worker, inspect_settings

    settings = settings_of(ctx)
    if check:
        try:
            prepare_data_dir(settings)  # the spool, and the default SQLite file
            failures = []
        except ConfigError as exc:
            failures = [str(exc)]
        problems, warnings = asyncio.run(check_worker(settings))
        failures += problems
        _print_all("warning", warnings)
        _print_all("error", failures)
        if failures:
            raise typer.Exit(2)
        print("worker configuration ok")
        return
    prepare_data_dir(settings)
    found = inspect_settings(settings)
    if found.errors:
        more = len(found.errors) - 1
        also = f" (and {more} more: `intake worker --check` lists them)" if more else ""
        raise ConfigError(found.errors[0] + also)
    _print_all("warning", found.gaps + found.warnings)

    from service.worker_run import run_worker

    stopped = asyncio.run(run_worker(settings, dev=dev))
    if stopped.reason:
        _print_all("error", [stopped.reason])
    raise typer.Exit(stopped.code)


def _print_all(kind: str, lines: list[str]) -> None:
    for line in lines:
        print(f"intake: {kind}: {line}", file=sys.stderr)
