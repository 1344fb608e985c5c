"""Running scenario files: load, check against the flow, simulate, compare with ``expect:``."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from flows.engine.outcomes import CallStatus
from flows.engine.payload import Payload
from flows.errors import FlowError
from flows.spec.catalog import FlowCatalog
from flows.spec.flow import FlowSpec
from flows.testing.expect import mismatches
from flows.testing.scenario import Scenario, check_against, load_scenario, resolve_flow
from flows.testing.simulator import SimulationOptions, Transcript, simulate


@dataclass(frozen=True)
class PreparedScenario:
    path: Path
    spec: FlowSpec
    scenario: Scenario


def prepare(
    path: Path, catalog: FlowCatalog, options: SimulationOptions, flow: str | None = None
) -> PreparedScenario:
    """Load a scenario and its flow, and check one against the other. Raises FlowError."""
    named = catalog.load(flow) if flow else None  # an unknown flow is reported first
    scenario = load_scenario(path, max_bytes=catalog.max_document_bytes)
    spec = named or resolve_flow(catalog, scenario, path, None)
    return PreparedScenario(path, spec, check_against(scenario, spec, str(path), options.region))


async def run_prepared(
    prepared: PreparedScenario, options: SimulationOptions, transcript: Transcript | None = None
) -> Payload:
    return await simulate(prepared.spec, prepared.scenario, options, transcript=transcript)


Verdict = Literal["passed", "failed", "skipped"]


@dataclass
class ScenarioReport:
    path: Path
    verdict: Verdict
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0
    status: CallStatus | None = None


def scenario_files(paths: Iterable[Path]) -> Iterator[Path]:
    """The given files, and every *.yaml / *.yml under the given directories, sorted."""
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.suffix in {".yaml", ".yml"})
        else:
            yield path


async def evaluate_scenario(
    path: Path, catalog: FlowCatalog, options: SimulationOptions, flow: str | None = None
) -> ScenarioReport:
    started = time.perf_counter()
    try:
        prepared = prepare(path, catalog, options, flow)
    except FlowError as exc:
        return ScenarioReport(path, "failed", [f"invalid: {exc}"])
    if prepared.scenario.expect is None:
        return ScenarioReport(path, "skipped", ["no expect: block"])
    try:
        payload = await run_prepared(prepared, options)
    except FlowError as exc:
        return ScenarioReport(path, "failed", [str(exc)], time.perf_counter() - started)
    problems = mismatches(prepared.scenario.expect, payload.to_json_dict())
    return ScenarioReport(
        path,
        "failed" if problems else "passed",
        problems,
        time.perf_counter() - started,
        payload.status,
    )
