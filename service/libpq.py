"""libpq's connection options in a PostgreSQL URL, for asyncpg.

Operators copy URLs such as ``postgresql://u@db/intake?sslmode=require`` from their
provider; SQLAlchemy hands the query to ``asyncpg.connect`` as keyword arguments, and
asyncpg knows ``ssl``, not ``sslmode`` (a TypeError at the first connection). So the
options libpq users expect are read here: checked when the settings load (a wrong one is
named at start), and turned into asyncpg's arguments when the engine is made.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
OPTIONS = ("sslmode", "sslrootcert", "sslcert", "sslkey", "connect_timeout", "application_name")


@dataclass(frozen=True)
class LibpqOptions:
    sslmode: str | None = None
    sslrootcert: str | None = None
    sslcert: str | None = None
    sslkey: str | None = None
    connect_timeout: float | None = None
    application_name: str | None = None

    def connect_args(self) -> dict[str, Any]:
        """asyncpg.connect's keyword arguments for these options (reads the certificate
        files named, so only when connecting)."""
        args: dict[str, Any] = {}
        if self.sslrootcert or self.sslcert:
            args["ssl"] = self._context()
        elif self.sslmode:
            args["ssl"] = self.sslmode  # asyncpg takes libpq's mode names as they are
        if self.connect_timeout is not None:
            args["timeout"] = self.connect_timeout
        if self.application_name:
            args["server_settings"] = {"application_name": self.application_name}
        return args

    def _context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=self.sslrootcert)
        if self.sslcert:
            context.load_cert_chain(self.sslcert, self.sslkey)
        if self.sslmode != "verify-full":  # libpq: a root certificate alone checks the CA
            context.check_hostname = False
        if not self.sslrootcert:
            context.verify_mode = ssl.CERT_NONE
        return context


def libpq_options(query: Mapping[str, str | tuple[str, ...]]) -> LibpqOptions:
    """The options of a URL's query; ValueError naming the first that is unknown or wrong."""
    values: dict[str, str] = {}
    for name, value in query.items():
        if name not in OPTIONS:
            raise ValueError(
                f"the URL option {name!r} is not supported (supported: {', '.join(OPTIONS)})"
            )
        if not isinstance(value, str):
            raise ValueError(f"the URL option {name!r} is given more than once")
        values[name] = value
    mode = values.get("sslmode")
    if mode is not None and mode not in SSL_MODES:
        raise ValueError(f"sslmode must be one of {', '.join(SSL_MODES)}")
    timeout = values.get("connect_timeout")
    seconds = None
    if timeout is not None:
        if not timeout.isdigit() or not 1 <= int(timeout) <= 600:
            raise ValueError("connect_timeout must be whole seconds from 1 to 600")
        seconds = float(timeout)
    return LibpqOptions(
        sslmode=mode,
        sslrootcert=values.get("sslrootcert"),
        sslcert=values.get("sslcert"),
        sslkey=values.get("sslkey"),
        connect_timeout=seconds,
        application_name=values.get("application_name"),
    )
