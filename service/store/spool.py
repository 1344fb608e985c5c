"""The spool: final payloads kept as files until the store has them.

A call's payload is written here before the store is tried, so a database that is down,
dropped or read-only when a call ends loses nothing: whoever starts next (the worker's
main process, ``intake deliver``) imports what the spool holds, and keeps doing so.

One file per call, ``<call_id>.json``: written to a temporary file, fsynced, renamed over
the entry (atomic: a reader sees the old entry or the new one, never half of one), then
the directory is fsynced so the rename itself survives a power cut. A file that does not
parse is moved to ``corrupt/`` and reported, never retried and never fatal. The files
hold caller data: they are created readable by the owner only.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import structlog
from pydantic import BaseModel, ConfigDict, ValidationError

from flows.engine.payload import Payload
from service.store.errors import StoreError

log = structlog.get_logger("intake.spool")

SUFFIX = ".json"
PARTIAL = ".partial"  # a write under way, or cut short by a crash; never imported
CORRUPT = "corrupt"
# Call ids are ours (``call_<ulid>``) or an outbound job's; anything else is hashed away
# from the file system's reach rather than trusted as a file name.
SAFE_NAME = re.compile(r"[A-Za-z0-9_-]{1,100}")


class SpoolEntry(BaseModel):
    """What ``CallRecorder.call_finished`` takes: the payload and why a dial failed."""

    model_config = ConfigDict(frozen=True)

    payload: Payload
    sip_status: int | None = None
    retryable: bool | None = None

    def to_json(self) -> bytes:
        document = {
            "payload": self.payload.to_json_dict(),
            "sip_status": self.sip_status,
            "retryable": self.retryable,
        }
        return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


@dataclass
class SpoolContents:
    """The entries that parsed, and the names of the files moved aside as corrupt."""

    entries: list[SpoolEntry] = field(default_factory=list)
    corrupt: list[str] = field(default_factory=list)


class Spool:
    """A directory of spooled payloads. Blocking file I/O: async code runs it in a thread."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def write(self, entry: SpoolEntry) -> None:
        """Durably keep ``entry``, replacing an earlier one of the same call."""
        self.directory.mkdir(parents=True, exist_ok=True)
        target = self._path(entry.payload.call_id)
        partial = target.with_name(f"{target.name}.{os.getpid()}{PARTIAL}")
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(descriptor, "wb") as file:
                file.write(entry.to_json())
                file.flush()
                os.fsync(file.fileno())
            os.replace(partial, target)
        except BaseException:
            with contextlib.suppress(OSError):
                partial.unlink()
            raise
        self._sync_directory()

    def remove(self, call_id: str) -> None:
        """Forget a call's entry (the store has it); no entry is fine."""
        with contextlib.suppress(FileNotFoundError):
            self._path(call_id).unlink()

    def read(self) -> SpoolContents:
        """Every entry, oldest first; corrupt ones are moved to ``corrupt/`` and named."""
        contents = SpoolContents()
        try:
            files = [path for path in self.directory.iterdir() if path.name.endswith(SUFFIX)]
        except FileNotFoundError:
            return contents
        for path in sorted(files, key=_modified):
            try:
                contents.entries.append(SpoolEntry.model_validate_json(path.read_bytes()))
            except FileNotFoundError:
                continue  # imported (or stored by its own job) meanwhile
            except (ValidationError, UnicodeDecodeError, OSError):
                self._set_aside(path)
                contents.corrupt.append(path.name)
        return contents

    def _path(self, call_id: str) -> Path:
        if SAFE_NAME.fullmatch(call_id):
            return self.directory / f"{call_id}{SUFFIX}"
        digest = hashlib.sha256(call_id.encode()).hexdigest()[:32]
        return self.directory / f"call-sha256-{digest}{SUFFIX}"

    def _set_aside(self, path: Path) -> None:
        aside = self.directory / CORRUPT
        aside.mkdir(exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            os.replace(path, aside / f"{path.name}.{time.time_ns()}")  # keep every one
        self._sync_directory()

    def _sync_directory(self) -> None:
        descriptor = os.open(self.directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def _modified(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return 0.0


class FinishedCalls(Protocol):
    """Where spooled payloads go (``CallStore``)."""

    async def call_finished(
        self, payload: Payload, *, sip_status: int | None = None, retryable: bool | None = None
    ) -> None: ...


@dataclass(frozen=True)
class SpoolImport:
    imported: int = 0
    left: int = 0  # still spooled: the store did not take them (yet)
    corrupt: int = 0  # moved to corrupt/

    @property
    def anything(self) -> bool:
        return bool(self.imported or self.left or self.corrupt)


async def import_spool(spool: Spool, store: FinishedCalls) -> SpoolImport:
    """Store what the spool holds; each entry is removed only once the store has it.

    A store that is unavailable ends the round (the rest waits for the next one); an entry
    the store refuses for another reason stays, and the others go on. Logs counts and file
    names, never what a payload holds.
    """
    try:
        contents = await asyncio.to_thread(spool.read)
    except OSError as exc:  # say, the directory became unreadable: try again next round
        log.error("spool.unreadable", directory=str(spool.directory), error=exc.strerror)
        return SpoolImport()
    for name in contents.corrupt:
        log.error("spool.corrupt_entry", file=name, moved_to=str(spool.directory / CORRUPT))
    imported = left = 0
    for position, entry in enumerate(contents.entries):
        call_id = entry.payload.call_id
        try:
            await store.call_finished(
                entry.payload, sip_status=entry.sip_status, retryable=entry.retryable
            )
        except Exception as exc:
            if isinstance(exc, StoreError) and exc.retryable:  # down: try again next round
                log.warning("spool.import_failed", call_id=call_id, error=str(exc))
                left += len(contents.entries) - position
                break
            log.error("spool.import_failed", call_id=call_id, error=exc.__class__.__name__)
            left += 1
            continue
        await asyncio.to_thread(spool.remove, call_id)
        imported += 1
    counts = SpoolImport(imported=imported, left=left, corrupt=len(contents.corrupt))
    if counts.anything:
        log.info(
            "spool.imported",
            imported=counts.imported,
            left=counts.left,
            corrupt=counts.corrupt,
            directory=str(spool.directory),
        )
    return counts
