"""The hostile-input table, counted: how many inputs were tried and how many were handled
cleanly (the expected exit code, one stderr line naming the problem, no traceback, within
the time and memory bounds; for HTTP bodies a 4xx with the one JSON error shape). The
same table the tests run (tests/hostile/); issue 12's target: tried == clean.

    .venv/bin/python bench/robustness.py
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from hostile.files import write_files  # noqa: E402
from hostile.http_cases import HTTP_CASES, problems  # noqa: E402
from hostile.runner import run_cases  # noqa: E402
from hostile.table import argument_cases, file_cases, settings_cases  # noqa: E402


def command_lines(workdir: Path) -> dict[str, tuple[int, int, float, float]]:
    """Per group: tried, clean, slowest seconds, largest memory growth (MB)."""
    write_files(workdir / "files")
    base = {"PATH": os.environ.get("PATH", ""), "HOME": str(workdir), "LANG": "C.UTF-8"}
    base["INTAKE_DATA_DIR"] = str(workdir / "data")
    groups = {"files": file_cases(), "settings": settings_cases(), "arguments": argument_cases()}
    everything = [case for cases in groups.values() for case in cases]
    outcomes = run_cases(everything, workdir, base)
    figures = {}
    for group, cases in groups.items():
        clean = sum(not outcomes[case.name].problems(case) for case in cases)
        slowest = max(outcomes[case.name].seconds for case in cases)
        largest = max(outcomes[case.name].growth_mb for case in cases)
        figures[group] = (len(cases), clean, slowest, largest)
        for case in cases:
            for problem in outcomes[case.name].problems(case):
                print(f"  not clean: {case.name}: {problem}")
    return figures


async def http_bodies(workdir: Path) -> tuple[int, int, float]:
    import httpx

    from flows.engine.clock import utc_now
    from service.api.app import create_app
    from service.settings import Settings
    from service.store import CallStore
    from service.store.api_keys import ApiKeys

    url = f"sqlite:///{workdir / 'api.db'}"
    settings = Settings(data_dir=workdir / "data", database={"url": url})  # type: ignore[arg-type]
    clean, slowest = 0, 0.0
    async with await CallStore.open(url) as store:
        app = create_app(settings, store, clock=utc_now)
        key = (await ApiKeys(store.engine, utc_now).create("bench")).secret
        transport = httpx.ASGITransport(app=app)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://intake") as client,
        ):
            for case in HTTP_CASES:
                started = time.perf_counter()
                response = await client.request(
                    case.method,
                    case.path,
                    content=case.content,
                    headers={"authorization": f"Bearer {key}", **case.headers},
                    files=case.files,
                    data=case.data,
                )
                slowest = max(slowest, time.perf_counter() - started)
                found = problems(response)
                clean += not found
                for problem in found:
                    print(f"  not clean: http {case.name}: {problem}")
    return len(HTTP_CASES), clean, slowest


def main() -> None:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as directory:
        workdir = Path(directory)
        figures = command_lines(workdir)
        tried, clean, slowest = asyncio.run(http_bodies(workdir))
    print(f"{'group':12} {'tried':>5} {'clean':>5}  slowest   memory growth (max)")
    totals: Counter[str] = Counter()
    for group, (n, ok, seconds, growth) in figures.items():
        print(f"{group:12} {n:5} {ok:5}  {seconds:5.2f} s   {growth:5.1f} MB")
        totals.update(tried=n, clean=ok)
    print(f"{'http bodies':12} {tried:5} {clean:5}  {slowest:5.2f} s   (in-process)")
    totals.update(tried=tried, clean=clean)
    print(f"{'total':12} {totals['tried']:5} {totals['clean']:5}")
    print(f"({time.perf_counter() - started:.0f} s)")
    sys.exit(0 if totals["tried"] == totals["clean"] else 1)


if __name__ == "__main__":
    main()
