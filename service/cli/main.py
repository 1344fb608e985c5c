"""The ``intake`` command line.

Exit codes: 0 success; 1 a scenario test failed; 2 bad input (unknown flow, invalid
spec or scenario, bad setting, bad usage) with a one-line reason on stderr. ``intake
worker`` adds its own (service/worker_run.py): 1 could not run, 130/143 a forced stop.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import structlog
import typer

from flows.errors import IntakeError
from service.cli.context import settings_of
from service.cli.deliveries import calls_app, deliver_command, deliver_payload, deliveries_app
from service.cli.flows import flows_app
from service.cli.keys import keys_app
from service.cli.provision import provision
from service.cli.serve import serve
from service.cli.worker import worker
from service.errors import ServiceError
from service.logging import configure_logging
from service.settings import Settings, flow_catalog, load_settings

if TYPE_CHECKING:
    # The simulator, and with it livekit.agents (seconds to import), loads only for the
    # commands that run calls: `intake serve` and the others start without it.
    from flows.testing.simulator import SimulationOptions

app = typer.Typer(
    name="intake",
    help="Telephony intake service: run, simulate and test data-collection flows.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
app.add_typer(flows_app, name="flows")
app.command()(worker)
app.add_typer(deliveries_app, name="deliveries")
app.add_typer(calls_app, name="calls")
app.command("deliver")(deliver_command)
app.add_typer(keys_app, name="keys")
app.command()(serve)
app.command()(provision)


def simulation_options(settings: Settings) -> SimulationOptions:
    from flows.testing.simulator import SimulationOptions

    return SimulationOptions(region=settings.default_region, transfer_to=settings.transfer_to)


def _transcript(speaker: str, text: str) -> None:
    print(f"{speaker:>6}: {text}", file=sys.stderr)


@app.command()
def simulate(
    ctx: typer.Context,
    flow: Annotated[str, typer.Argument(help="A built-in flow id or a path to a flow spec.")],
    scenario: Annotated[Path, typer.Argument(help="The scenario YAML file.")],
    transcript: Annotated[
        bool, typer.Option(help="Print the conversation on stderr (it holds caller data).")
    ] = False,
    deliver: Annotated[
        bool,
        typer.Option(
            "--deliver",
            help="Also store the payload and send it to the webhook endpoints now"
            " (retries are left to `intake deliver`).",
        ),
    ] = False,
) -> None:
    """Run one simulated call offline and print its payload as JSON on stdout."""
    from flows.testing.runner import prepare, run_prepared

    settings = settings_of(ctx)
    options = simulation_options(settings)
    prepared = prepare(scenario, flow_catalog(settings), options, flow)
    payload = asyncio.run(
        run_prepared(prepared, options, transcript=_transcript if transcript else None)
    )
    print(json.dumps(payload.to_json_dict(), indent=2), flush=True)
    if deliver:
        deliver_payload(settings, payload)


@app.command("test")
def test_command(
    ctx: typer.Context,
    paths: Annotated[list[Path], typer.Argument(help="Scenario files or directories.")],
    flow: Annotated[
        str | None, typer.Option(help="Flow for scenarios that name none (default: folder).")
    ] = None,
) -> None:
    """Run scenarios that carry expect: and report each as passed or failed."""
    from flows.testing.runner import evaluate_scenario, scenario_files

    settings = settings_of(ctx)
    catalog, options = flow_catalog(settings), simulation_options(settings)
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise ServiceError(f"no such file or directory: {missing[0]}")
    counts = {"passed": 0, "failed": 0, "skipped": 0}
    for path in scenario_files(paths):
        report = asyncio.run(evaluate_scenario(path, catalog, options, flow))
        counts[report.verdict] += 1
        detail = f" ({report.status}, {report.seconds:.2f}s)" if report.status else ""
        print(f"{report.verdict.upper():7} {path}{detail}")
        for problem in report.problems:
            print(f"        {problem}")
    print(", ".join(f"{n} {verdict}" for verdict, n in counts.items()))
    if counts["failed"] or not counts["passed"]:
        raise typer.Exit(1)


@app.command()
def console(
    ctx: typer.Context,
    flow: Annotated[str, typer.Argument(help="A built-in flow id or a path to a flow spec.")],
    direction: Annotated[str, typer.Option(help="inbound or outbound.")] = "inbound",
    caller: Annotated[str | None, typer.Option("--from", help="The calling number.")] = None,
    called: Annotated[str | None, typer.Option("--to", help="The called number.")] = None,
) -> None:
    """Talk to a flow in the terminal: type answers; '#123' keys digits, an empty line is
    silence, '/hangup' hangs up. Prints the payload at the end."""
    from service.console import run_console

    settings = settings_of(ctx)
    spec = flow_catalog(settings).load(flow)
    payload = asyncio.run(
        run_console(spec, simulation_options(settings), direction, caller, called)
    )
    print(json.dumps(payload.to_json_dict(), indent=2))


def main(argv: list[str] | None = None) -> int:
    """Entry point: settings are read here, once, and every failure becomes one line."""
    try:
        settings = load_settings()
        configure_logging(settings)
        gc.enable()  # the console script (entry.py) paused it while the CLI loaded
        code = app(args=argv, standalone_mode=False, obj=settings, prog_name="intake")
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        return 130
    except typer.TyperException as exc:  # usage errors: bad option, missing argument
        format_message = getattr(exc, "format_message", None)
        message = format_message() if callable(format_message) else str(exc)
        if type(exc).__name__ == "NoArgsIsHelpError":  # bare `intake`: the help is the answer
            print(message)
            return 0
        return _fail(message)
    except IntakeError as exc:  # the one root: bad input, settings, flows, the store
        return _fail(str(exc))
    except Exception as exc:
        # A defect, not bad input: one line here, the traceback (no locals) in the log.
        structlog.get_logger("intake.cli").exception("cli.crashed")
        print(f"intake: internal error: {exc.__class__.__name__}", file=sys.stderr)
        return 1
    return code if isinstance(code, int) else 0


def _fail(message: str) -> int:
    line = " ".join(message.split())
    print(f"intake: error: {line}", file=sys.stderr)
    return 2


def run() -> None:
    """The console script: run, flush, and leave without tearing the interpreter down.

    Once a command has printed its result, unloading livekit's native libraries and
    collecting every object would only add most of a second to each invocation.
    """
    code = main()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    run()
