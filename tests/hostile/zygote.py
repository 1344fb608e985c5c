"""The forking helper of ``runner.py``: ``python zygote.py REQUEST.json``; one JSON line
per case on stdout. Not a test module."""

from __future__ import annotations

import json
import os
import resource
import signal
import sys
import time
from pathlib import Path
from typing import Any


def _status_kb(name: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{name}:"):
            return int(line.split()[1])
    return 0


def _child(case: dict[str, Any], case_dir: Path, env: dict[str, str], seconds: float) -> None:
    from service.cli.main import main

    start_kb = _status_kb("VmRSS")  # a forked child maps fewer pages than its parent
    os.chdir(case_dir)
    os.environ.clear()
    os.environ.update(env)
    limit = _status_kb("VmSize") * 1024 + (1 << 30)  # a gigabyte beyond what the CLI already maps
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    signal.alarm(int(seconds * 2))  # a hang is killed, and counted
    out = os.open(case_dir / "stdout", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    err = os.open(case_dir / "stderr", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.dup2(out, 1)
    os.dup2(err, 2)
    stdin = os.open(os.devnull, os.O_RDONLY)
    os.dup2(stdin, 0)
    code = 70
    try:
        code = main(list(case["args"]))
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        # how far this case's resident memory rose above where it started
        (case_dir / "growth").write_text(str(_status_kb("VmHWM") - start_kb))
        os._exit(code)


def _read_int(path: Path) -> int:
    try:
        return int(path.read_text())
    except (OSError, ValueError):  # the child was killed before it could say
        return 0


def main() -> None:
    request = json.loads(Path(sys.argv[1]).read_text())
    workdir = Path(request["workdir"])
    # What every command may load, loaded once: the children start warm.
    import flows.testing.simulator  # noqa: F401
    import service.cli.main
    import service.store  # noqa: F401

    for case in request["cases"]:
        case_dir = workdir / "cases" / case["name"]
        case_dir.mkdir(parents=True, exist_ok=True)

        def fill(text: str, case_dir: Path = case_dir) -> str:
            return text.replace("{files}", str(workdir / "files")).replace("{case}", str(case_dir))

        case["args"] = [fill(arg) for arg in case["args"]]
        env = {**request["base_env"], **{k: fill(v) for k, v in case["env"].items()}}
        sys.stdout.flush()
        sys.stderr.flush()
        started = time.perf_counter()
        pid = os.fork()
        if pid == 0:
            _child(case, case_dir, env, request["seconds"])
        _, status, _usage = os.wait4(pid, 0)
        seconds = time.perf_counter() - started
        code = os.waitstatus_to_exitcode(status)
        outcome = {
            "name": case["name"],
            "code": code,
            "stdout": (case_dir / "stdout").read_text(errors="replace"),
            "stderr": (case_dir / "stderr").read_text(errors="replace"),
            "seconds": round(seconds, 3),
            "growth_mb": round(max(0, _read_int(case_dir / "growth")) / 1024, 1),
        }
        print(json.dumps(outcome), flush=True)


if __name__ == "__main__":
    main()
