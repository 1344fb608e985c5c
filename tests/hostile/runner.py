"""Running hostile command lines cheaply, each in a process of its own with limits.

Starting ``intake`` costs most of a second, so a table of hundreds of cases would take
minutes. Instead one helper process (``zygote.py``) imports the CLI and the simulator
once, then forks a child per case: the child takes the case's environment, working
directory, a cap on its address space and an alarm, runs ``main(argv)`` with stdout and
stderr in files, and exits. The parent measures each child's time and memory (wait4).
Two helpers share the table, one per core.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

ZYGOTE = Path(__file__).with_name("zygote.py")
SECONDS = 20.0  # wall time one case may take (the alarm kills it at twice this)
GROWTH_MB = 300  # memory one case may add to the already-loaded CLI
WORKERS = 2


@dataclass(frozen=True)
class CliCase:
    """``intake ARGS`` with ``env`` (over a clean base); ``{files}`` and ``{case}`` in
    args and env become the shared hostile files' directory and the case's own."""

    name: str
    args: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)
    expect: int = 2  # the exit code; 2 is bad input with one line on stderr
    needle: str = ""  # must appear in that line (the file, the variable, the cause)


@dataclass(frozen=True)
class Outcome:
    name: str
    code: int  # negative: killed by that signal
    stdout: str
    stderr: str
    seconds: float
    growth_mb: float

    def problems(self, case: CliCase) -> list[str]:
        """Why this outcome is not clean for its case; empty when it is."""
        found = []
        if self.code != case.expect:
            found.append(f"exit {self.code}, expected {case.expect}")
        for stream, text in (("stdout", self.stdout), ("stderr", self.stderr)):
            if "Traceback" in text or "cli.crashed" in text or "internal error" in text:
                found.append(f"a traceback or crash on {stream}")
        lines = self.stderr.splitlines()
        if case.expect == 2:
            if len(lines) != 1 or not lines[0].startswith("intake: error: "):
                found.append(f"{len(lines)} stderr lines, expected one 'intake: error:' line")
            elif case.needle and case.needle not in lines[0]:
                found.append(f"the line does not name {case.needle!r}")
        if self.seconds > SECONDS:
            found.append(f"took {self.seconds:.1f} s")
        if self.growth_mb > GROWTH_MB:
            found.append(f"grew by {self.growth_mb:.0f} MB")
        return found


def run_cases(
    cases: Sequence[CliCase], workdir: Path, base_env: Mapping[str, str]
) -> dict[str, Outcome]:
    """Every case's outcome, by name; cases run in WORKERS helpers side by side."""
    names = [case.name for case in cases]
    assert len(set(names)) == len(names), "case names must be unique"
    batches = [cases[i::WORKERS] for i in range(WORKERS)]
    helpers = []
    for number, batch in enumerate(batches):
        request = {
            "workdir": str(workdir),
            "base_env": dict(base_env),
            "seconds": SECONDS,
            "cases": [asdict(case) for case in batch],
        }
        path = workdir / f"batch-{number}.json"
        path.write_text(json.dumps(request))
        helpers.append(
            subprocess.Popen(
                [sys.executable, str(ZYGOTE), str(path)],
                stdout=subprocess.PIPE,
                env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])},
            )
        )
    outcomes: dict[str, Outcome] = {}
    for helper in helpers:
        out, _ = helper.communicate(timeout=900)
        assert helper.returncode == 0, "the zygote failed"
        for line in out.decode().splitlines():
            outcome = Outcome(**json.loads(line))
            outcomes[outcome.name] = outcome
    return outcomes
