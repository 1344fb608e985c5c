"""Every hostile input of the table, each in a process of its own: the exit code, one
stderr line naming what is wrong, no traceback, bounded time and memory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hostile.files import write_files
from hostile.runner import CliCase, Outcome, run_cases
from hostile.table import all_cases

CASES = all_cases()


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    workdir = tmp_path_factory.mktemp("hostile")
    write_files(workdir / "files")
    base = {"PATH": os.environ.get("PATH", ""), "HOME": str(workdir), "LANG": "C.UTF-8"}
    base["INTAKE_DATA_DIR"] = str(workdir / "data")
    return run_cases(CASES, workdir, base)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_hostile_input_is_refused_cleanly(case: CliCase, outcomes: dict[str, Outcome]) -> None:
    outcome = outcomes[case.name]
    assert outcome.problems(case) == [], outcome.stderr[:500]


def test_the_table_is_large_enough() -> None:
    from hostile.http_cases import HTTP_CASES

    assert len(CASES) + len(HTTP_CASES) >= 150


def test_a_case_that_is_not_clean_is_caught(tmp_path: Path) -> None:
    """The checks can fail: a command that succeeds where an error was expected, a crash."""
    base = {"PATH": os.environ.get("PATH", ""), "INTAKE_DATA_DIR": str(tmp_path / "data")}
    cases = [
        CliCase("succeeds", ("flows", "list"), {}, 2),
        CliCase("wrong-needle", ("flows", "show", "nope"), {}, 2, "something else"),
    ]
    found = run_cases(cases, tmp_path, base)
    assert all(found[case.name].problems(case) for case in cases)
