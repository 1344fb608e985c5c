"""``intake flows list|show|check``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from flows.errors import FlowError, SpecError
from service.cli.context import settings_of
from service.settings import flow_catalog

if TYPE_CHECKING:  # flow specs load when a flows command runs, not at every start-up
    from flows.spec.catalog import FlowCatalog
    from flows.spec.fields import FieldSpec

flows_app = typer.Typer(help="List, show and check flow specs.", no_args_is_help=True)


def _catalog(ctx: typer.Context) -> FlowCatalog:
    return flow_catalog(settings_of(ctx))


@flows_app.command("list")
def list_flows(ctx: typer.Context) -> None:
    """The flows this service knows: built-in ones and those in INTAKE_FLOWS_DIR."""
    catalog = _catalog(ctx)
    print(f"{'ID':22} {'VERSION':9} {'STEPS':>5} {'FIELDS':>6}  SOURCE")
    for flow_id, source in catalog.sources().items():
        try:
            spec = catalog.load(flow_id)
        except FlowError as exc:
            print(f"{flow_id:22} {'invalid':9} {'-':>5} {'-':>6}  {source}  ({exc})")
            continue
        fields = len(spec.field_paths())
        print(f"{flow_id:22} {spec.version:9} {len(spec.steps):5} {fields:6}  {source}")


@flows_app.command("show")
def show_flow(
    ctx: typer.Context,
    flow: Annotated[str, typer.Argument(help="A flow id or a spec file.")],
    as_json: Annotated[
        bool, typer.Option("--json", help="The full validated spec as JSON.")
    ] = False,
) -> None:
    """The steps and fields of a flow (or its full validated spec with --json)."""
    spec = _catalog(ctx).load(flow)
    if as_json:
        print(json.dumps(spec.model_dump(mode="json", by_alias=True), indent=2))
        return
    print(f"{spec.id} ({spec.name}), version {spec.version}")
    if spec.welcome.question:
        print(f"  welcome question: {spec.welcome.question}")
    for step in spec.steps:
        print(f"  {step.id}")
        for field in step.fields:
            print(f"    {field.id:24} {_describe(field)}")


def _describe(field: FieldSpec) -> str:
    kind: str = field.type
    from flows.spec.fields import ListField

    if isinstance(field, ListField):
        kind = f"list of {field.item.type}"
        if field.item.fields:
            kind += " {" + ", ".join(sub.id for sub in field.item.fields) + "}"
    flags = [name for name in ("optional", "confirm", "sensitive") if getattr(field, name)]
    if field.when is not None:
        test = field.when.model_dump(by_alias=True, exclude_none=True, exclude={"field"})
        flags.append(f"when {field.when.field} {json.dumps(test)}")
    return kind + (f"  ({', '.join(flags)})" if flags else "")


@flows_app.command("check")
def check_flows(
    ctx: typer.Context,
    files: Annotated[list[Path], typer.Argument(help="Flow spec files to validate.")],
) -> None:
    """Validate spec files; print every problem with its place in the file. Exit 2 if any."""
    from flows.spec.catalog import load_spec_file

    settings = settings_of(ctx)
    bad = 0
    for path in files:
        try:
            spec = load_spec_file(path, max_bytes=settings.max_document_bytes)
        except SpecError as exc:
            bad += 1
            for where, what in exc.problems:
                print(f"{path}: {where}: {what}")
            continue
        except FlowError as exc:
            bad += 1
            print(str(exc))
            continue
        print(f"{path}: ok ({spec.id}, version {spec.version})")
    if bad:
        raise typer.Exit(2)
