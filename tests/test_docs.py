"""Every YAML and JSON example in README.md and docs/*.md is checked like the real thing.

A fenced block is taken by its info string: ```yaml or ```json. What it is comes from its
keys: a flow (``steps``) goes through the spec checker, a scenario (``answers``,
``expect``, ...) through the scenario loader and against its flow, and is simulated when
it carries ``expect:``; a payload (``"type": "call.ended"``) through the payload model and
the rule that it has every step and field of its flow. Anything else must at least parse.
A block meant as a fragment says so: ```yaml partial (parsed only).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from flows.engine.payload import Payload
from flows.spec.catalog import FlowCatalog, parse_spec
from flows.testing.expect import mismatches
from flows.testing.scenario import check_against, parse_scenario
from flows.testing.simulator import SimulationOptions, simulate

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(yaml|json)([^\n]*)\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
SCENARIO_KEYS = {"answers", "confirm", "interrupt", "hangup_after", "expect", "outcome"}


@dataclass(frozen=True)
class Example:
    document: Path
    line: int
    language: str
    partial: bool
    text: str

    @property
    def name(self) -> str:
        return f"{self.document.relative_to(ROOT)}:{self.line}"

    def data(self) -> Any:
        return json.loads(self.text) if self.language == "json" else yaml.safe_load(self.text)

    def kind(self) -> str:
        data = self.data()
        if self.partial or not isinstance(data, dict):
            return "fragment"
        if "steps" in data:
            return "flow"
        if data.get("type") == "call.ended":
            return "payload"
        if SCENARIO_KEYS & data.keys():
            return "scenario"
        return "other"


def examples() -> list[Example]:
    found = []
    for document in DOCUMENTS:
        text = document.read_text(encoding="utf-8")
        for match in FENCE.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            partial = "partial" in match.group(2).split()
            found.append(Example(document, line, match.group(1), partial, match.group(3)))
    return found


EXAMPLES = examples()


def of_kind(kind: str) -> list[Any]:
    return [pytest.param(e, id=e.name) for e in EXAMPLES if e.kind() == kind]


def test_the_docs_have_examples_of_each_kind() -> None:
    """Guards the block extraction: an edit that broke it would check nothing."""
    kinds = {(e.document.name, e.kind()) for e in EXAMPLES}
    assert {("flows.md", "flow"), ("README.md", "flow")} <= kinds
    assert {("scenarios.md", "scenario"), ("payload.md", "payload")} <= kinds


@pytest.mark.parametrize("example", [pytest.param(e, id=e.name) for e in EXAMPLES])
def test_every_example_parses(example: Example) -> None:
    assert example.data() is not None


@pytest.mark.parametrize("example", of_kind("flow"))
def test_flow_examples_pass_the_spec_checker(example: Example, catalog: FlowCatalog) -> None:
    spec = parse_spec(example.text, example.name)  # SpecError lists every problem
    assert spec.id not in catalog.sources(), "an example must not shadow a built-in flow"


@pytest.mark.parametrize("example", of_kind("scenario"))
async def test_scenario_examples_load_and_meet_their_expectations(
    example: Example, catalog: FlowCatalog
) -> None:
    scenario = parse_scenario(example.text, example.name)
    assert scenario.flow, f"{example.name}: a complete scenario names its flow"
    spec = catalog.load(scenario.flow)
    scenario = check_against(scenario, spec, example.name, region="US")
    if scenario.expect is not None:
        payload = await simulate(spec, scenario, SimulationOptions())
        assert mismatches(scenario.expect, payload.to_json_dict()) == []


@pytest.mark.parametrize("example", of_kind("payload"))
def test_payload_examples_are_payloads_of_their_flow(
    example: Example, catalog: FlowCatalog
) -> None:
    payload = Payload.model_validate(example.data())
    spec = catalog.load(payload.flow)
    assert {s.id: [f.id for f in s.fields] for s in spec.steps} == {
        step: list(values) for step, values in payload.results.items()
    }
    assert list(payload.fields) == spec.field_paths()
    assert payload.flow_version == spec.version


LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)\s]*)?\)")


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda d: d.name)
def test_links_point_at_files_inside_the_repository(document: Path) -> None:
    for target in LINK.findall(document.read_text(encoding="utf-8")):
        if target.startswith(("http://", "https://")):
            continue
        resolved = (document.parent / target).resolve()
        assert resolved.is_relative_to(ROOT), f"{document.name} links outside: {target}"
        assert resolved.exists(), f"{document.name} links to a missing file: {target}"
