"""How well the understanding rules read callers: the corpus in
tests/flows/understanding_corpus.yaml, scored per field type and per intent.

Prints one line per group (passed/total and accuracy), then every failure with what was
expected and what came out, then the total. Exit 1 below 100%, the target.

    .venv/bin/python bench/understanding.py
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

from flows.testing.understanding import Outcome, load_corpus, score

CORPUS = Path(__file__).resolve().parents[1] / "tests" / "flows" / "understanding_corpus.yaml"


def main() -> int:
    outcomes = score(load_corpus(CORPUS))
    by_group: dict[tuple[str, str], list[Outcome]] = defaultdict(list)
    for outcome in outcomes:
        by_group[(outcome.case.kind, outcome.case.group)].append(outcome)
    print(f"{'KIND':7} {'GROUP':14} {'PASSED':>8} {'ACCURACY':>9}")
    for (kind, group), results in sorted(by_group.items()):
        passed = sum(result.passed for result in results)
        print(f"{kind:7} {group:14} {passed:>4}/{len(results):<3} {passed / len(results):>9.1%}")
    failures = [outcome for outcome in outcomes if not outcome.passed]
    for outcome in failures:
        case = outcome.case
        print(
            f"FAILED [{case.group}] {case.text!r}: expected {case.expected!r}, "
            f"got {outcome.actual!r}"
        )
    passed = len(outcomes) - len(failures)
    print(f"total {passed}/{len(outcomes)} = {passed / len(outcomes):.1%}")
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
