"""Start-up of a command that runs no call: `intake flows list` against `python -c pass`.

Both are whole processes started the same way, so the ratio holds on a noisy machine where
absolute times do not. The project is byte-compiled first, as an install
does (bench/installed.py). Issue 10's target: at most 3x. Prints the median of each and the
ratio of the medians.

    .venv/bin/python bench/cli_startup.py [--runs 15]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

from installed import ROOT, byte_compile

INTAKE = Path(sys.executable).with_name("intake")
TARGET = 3.0


def wall(command: list[str], runs: int) -> float:
    """Median seconds of ``runs`` runs of ``command`` (one warm-up run first)."""
    subprocess.run(command, cwd=ROOT, capture_output=True, check=True)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, cwd=ROOT, capture_output=True, check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    byte_compile()
    baseline = wall([sys.executable, "-c", "pass"], runs)
    flows_list = wall([str(INTAKE), "flows", "list"], runs)
    ratio = flows_list / baseline
    print(f"python -c pass     {baseline * 1000:8.1f} ms (median of {runs})")
    print(f"intake flows list  {flows_list * 1000:8.1f} ms (median of {runs})")
    verdict = "met" if ratio <= TARGET else "missed"
    print(f"ratio              {ratio:8.1f}x (target <= {TARGET:g}x: {verdict})")


if __name__ == "__main__":
    main()
