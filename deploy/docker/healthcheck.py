"""The image's HEALTHCHECK: ask the health endpoint of whichever intake command runs here.

* ``intake serve``: ``GET /healthz`` on ``--port`` or INTAKE_API__PORT (8080);
* ``intake worker``: ``GET /`` on INTAKE_WORKER__HTTP_PORT (8081), which answers 503 once
  the worker's connection to LiveKit has given up;
* ``intake deliver``: ``GET /healthz`` on INTAKE_WEBHOOKS__HEALTH_PORT, which answers 503
  once the delivery loop has stopped looking at the outbox; without that setting, healthy
  while it runs (it exits when it cannot go on, and the restart policy takes over).

Standard library only: it runs in the image's Python, once per interval.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence


def intake_args(pid: str = "1") -> list[str]:
    """The arguments after ``intake`` of the container's main process (or, under an init
    such as tini, of the first process that runs intake)."""
    candidates = [pid, *sorted((p for p in os.listdir("/proc") if p.isdigit()), key=int)]
    for candidate in candidates:
        try:
            with open(f"/proc/{candidate}/cmdline", "rb") as file:
                argv = [part.decode() for part in file.read().split(b"\0") if part]
        except OSError:
            continue
        for index, arg in enumerate(argv):
            if os.path.basename(arg) == "intake":
                return argv[index + 1 :]
    return []


def health_url(args: Sequence[str], env: Mapping[str, str]) -> str | None:
    """Where the command's health answers; None for a command without an endpoint."""
    command = next((arg for arg in args if not arg.startswith("-")), "worker")
    if command == "serve":
        port = env.get("INTAKE_API__PORT", "8080")
        for index, arg in enumerate(args):
            if arg == "--port" and index + 1 < len(args):
                port = args[index + 1]
            elif arg.startswith("--port="):
                port = arg.split("=", 1)[1]
        return f"http://127.0.0.1:{port}/healthz"
    if command == "deliver" and env.get("INTAKE_WEBHOOKS__HEALTH_PORT"):
        return f"http://127.0.0.1:{env['INTAKE_WEBHOOKS__HEALTH_PORT']}/healthz"
    if command == "worker" and "--check" not in args:
        return f"http://127.0.0.1:{env.get('INTAKE_WORKER__HTTP_PORT', '8081')}/"
    return None


def main() -> int:
    url = health_url(intake_args(), os.environ)
    if url is None:
        return 0
    try:
        with urllib.request.urlopen(url, timeout=4) as response:
            return 0 if response.status == 200 else 1
    except (urllib.error.URLError, OSError) as exc:
        print(f"unhealthy: {url}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
