"""Start-up is measured on the project as installed.

Installing the package (``pip install .``, as the image does) compiles every module to
bytecode. This checkout is an editable install, and where PYTHONDONTWRITEBYTECODE is set
(these machines set it) Python would compile our sources again at every start and never
keep the result: a cost no deployment pays, about a tenth of ``intake serve``'s start-up.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("flows", "sip", "service")


def byte_compile() -> None:
    """What the install does: bytecode beside each module (stale files are rewritten)."""
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", *(str(ROOT / name) for name in PACKAGES)],
        check=True,
    )
