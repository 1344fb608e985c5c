"""The import rule: spec <- engine <- agent <- sip <- service, testing on agent and engine.

Each layer is imported in a fresh interpreter, and what it pulled in is read from
``sys.modules``: no layer loads one above it, and spec and engine load no livekit at all.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Every module of a layer, and the layers (by module prefix) it must never load.
LAYERS: dict[str, tuple[str, ...]] = {
    "flows.errors": (
        "flows.spec",
        "flows.engine",
        "flows.agent",
        "flows.testing",
        "sip",
        "service",
        "livekit",
    ),
    "flows.spec": ("flows.engine", "flows.agent", "flows.testing", "sip", "service", "livekit"),
    "flows.engine": ("flows.agent", "flows.testing", "sip", "service", "livekit"),
    "flows.agent": ("flows.testing", "sip", "service"),
    "flows.testing": ("sip", "service"),
    "sip": ("flows.testing", "service"),
}


def modules_of(package: str) -> list[str]:
    base = ROOT / package.replace(".", "/")
    if base.with_suffix(".py").is_file():
        return [package]
    return sorted(
        ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for path in base.rglob("*.py")
        if "migrations" not in path.parts
    )


def loaded_after_importing(modules: list[str]) -> list[str]:
    code = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return list(json.loads(done.stdout))


@pytest.mark.parametrize("layer", list(LAYERS))
def test_a_layer_never_imports_one_above_it(layer: str) -> None:
    modules = modules_of(layer)
    assert modules, f"no modules found for {layer}"
    loaded = loaded_after_importing(modules)
    above = [
        name
        for name in loaded
        for banned in LAYERS[layer]
        if name == banned or name.startswith(banned + ".")
    ]
    assert above == [], f"{layer} loads {above[:5]}"


def test_the_rule_can_fail() -> None:
    """The check above sees a forbidden import when there is one."""
    loaded = loaded_after_importing(["flows.testing.harness"])
    assert "livekit.agents" in loaded
    assert any(name.startswith("flows.agent") for name in loaded)
