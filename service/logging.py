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
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    if not settings.log_pii:
        shared.append(drop_pii)
    return shared


def configure_job_logging(settings: Settings) -> None:
    """In a job process: livekit already forwards stdlib records to the worker, so our
    events become plain records whose keys ride along as ``extra`` (caller data dropped
    here already, before it crosses the process boundary)."""
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
    # httpx logs every request's full URL at INFO; endpoint URLs may carry tokens.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, root.level))
    # alembic announces each of its plugins at INFO whenever it is imported: noise before
    # a command's own one-line error.
    logging.getLogger("alembic.runtime.plugins").setLevel(max(logging.WARNING, root.level))
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
