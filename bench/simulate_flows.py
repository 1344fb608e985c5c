"""Wall time of simulated calls: each built-in flow end to end on the offline engine.

Prints, per flow, the median and p95 of in-process wall time per call (the real
AgentSession, TaskGroup and tools; silences and timeouts simulated, never slept), and
the wall time of a whole `intake simulate` process, whose import of livekit-agents
dominates. Issue 2's target: the longest built-in flow under 2 s wall.

    .venv/bin/python bench/simulate_flows.py [--runs 20]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flows.spec.catalog import FlowCatalog  # noqa: E402
from flows.testing.runner import prepare, run_prepared  # noqa: E402
from flows.testing.simulator import SimulationOptions  # noqa: E402
from service.logging import configure_logging  # noqa: E402
from service.settings import Settings  # noqa: E402

SCENARIOS = {
    "customer_feedback": "examples/scenarios/customer_feedback/keypad_order_number.yaml",
    "lead_qualification": "examples/scenarios/lead_qualification/outbound_keypad_phone.yaml",
    "patient_intake": "examples/scenarios/patient_intake/full_intake.yaml",
}


async def time_calls(flow: str, scenario: Path, runs: int) -> tuple[list[float], int]:
    options = SimulationOptions()
    prepared = prepare(scenario, FlowCatalog(), options, flow)
    turns = 0

    def count(speaker: str, _text: str) -> None:
        nonlocal turns
        turns += speaker == "caller"

    await run_prepared(prepared, options, transcript=count)  # warm-up, and the turn count
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        payload = await run_prepared(prepared, options)
        samples.append(time.perf_counter() - started)
        assert payload.status == "completed", payload.status
    return samples, turns


def process_wall(flow: str, scenario: Path, runs: int = 3) -> float:
    intake = Path(sys.executable).with_name("intake")
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(
            [str(intake), "simulate", flow, str(scenario)], check=True, capture_output=True
        )
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    configure_logging(Settings(log_level="error"))
    print(f"{'flow':20} {'turns':>5} {'median':>8} {'p95':>8} {'per turn':>9} {'process':>8}")
    for flow, relative in SCENARIOS.items():
        scenario = ROOT / relative
        samples, turns = asyncio.run(time_calls(flow, scenario, args.runs))
        median = statistics.median(samples)
        p95 = statistics.quantiles(samples, n=20)[-1] if len(samples) >= 2 else median
        process = process_wall(flow, scenario)
        print(
            f"{flow:20} {turns:5} {median * 1000:6.0f}ms {p95 * 1000:6.0f}ms "
            f"{median / turns * 1000:7.1f}ms {process:7.2f}s",
            flush=True,
        )


if __name__ == "__main__":
    main()
