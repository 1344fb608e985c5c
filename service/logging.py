"""structlog for our logs and livekit's: JSON off a terminal, caller data dropped by default.

Caller data is only ever logged under keys starting with ``pii_`` (ours) or ``lk.pii``
(livekit's); the redaction processor drops them unless ``INTAKE_LOG_PII=1``.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, Processor

from service.settings import Settings

PII_PREFIXES = ("pii_", "lk.pii")

# Libraries whose debug records carry caller data: the SQL drivers print every statement's
# parameters (whole payloads), the HTTP clients and the model SDK their bodies, livekit
# transcripts. Their records have no pii_ keys to drop, so they stay at INFO or above.
CHATTY_AT_DEBUG = ("aiosqlite", "asyncpg", "openai", "livekit", "websockets")
# At INFO already: httpx logs URLs (endpoint URLs may carry tokens), SQLAlchemy every
# statement with its parameters (it sets itself to WARNING; a root at INFO must not undo it).
LOUD_AT_INFO = ("httpx", "httpcore", "hpack", "sqlalchemy")
# Migrations announce themselves at INFO (each revision, and alembic's plugins when it is
# imported): noise before a command's own output, shown only at debug level.
MIGRATIONS = ("alembic",)
# Extras that only repeat the message for a terminal: uvicorn's copy of it in ANSI colours.
TERMINAL_COPIES = ("color_message",)


def drop_terminal_copies(_logger: Any, _method: str, event: EventDict) -> EventDict:
    for key in TERMINAL_COPIES:
        event.pop(key, None)
    return event


def drop_pii(_logger: Any, _method: str, event: EventDict) -> EventDict:
    for key in [k for k in event if k.startswith(PII_PREFIXES)]:
        del event[key]
    return event


def _shared_processors(settings: Settings) -> list[Processor]:
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        drop_terminal_copies,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    if not settings.log_pii:
        shared.append(drop_pii)
    return shared


def configure_job_logging(settings: Settings) -> None:
    """In a job process: livekit already forwards stdlib records to the worker, so our
    events become plain records whose keys ride along as ``extra`` (caller data dropped
    here already, before it crosses the process boundary)."""
    quiet_libraries(logging.getLevelName(settings.log_level.upper()), pii=settings.log_pii)
    structlog.configure(
        processors=[*_shared_processors(settings), structlog.stdlib.render_to_log_kwargs],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )


def configure_logging(settings: Settings, stream: TextIO | None = None) -> None:
    stream = stream or sys.stderr
    as_json = settings.log_format == "json" or (
        settings.log_format == "auto" and not stream.isatty()
    )
    shared = _shared_processors(settings)
    renderer: Processor = (
        structlog.processors.JSONRenderer()
        if as_json
        else structlog.dev.ConsoleRenderer(
            colors=stream.isatty(),
            exception_formatter=structlog.dev.RichTracebackFormatter(show_locals=False)
            if stream.isatty()
            else structlog.dev.plain_traceback,
        )
    )
    final: list[Processor] = [structlog.stdlib.ProcessorFormatter.remove_processors_meta]
    if as_json:
        # Frame locals hold caller data (answers, payloads): never render them.
        tracebacks = structlog.tracebacks.ExceptionDictTransformer(show_locals=False)
        final.append(structlog.processors.ExceptionRenderer(tracebacks))
    final.append(renderer)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(foreign_pre_chain=shared, processors=final)
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level.upper())
    quiet_libraries(root.level, pii=settings.log_pii)
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )


def quiet_libraries(level: int, *, pii: bool) -> None:
    """Third-party loggers' levels for a root at ``level``: see CHATTY_AT_DEBUG."""
    for name in CHATTY_AT_DEBUG:
        logging.getLogger(name).setLevel(level if pii else max(logging.INFO, level))
    for name in LOUD_AT_INFO:
        logging.getLogger(name).setLevel(level if pii else max(logging.WARNING, level))
    for name in MIGRATIONS:
        logging.getLogger(name).setLevel(level if level <= logging.DEBUG else logging.WARNING)
