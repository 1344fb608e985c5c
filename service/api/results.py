"""A campaign's results as a stream: JSON Lines (the stored payload text spliced in as it
is, never re-encoded) or CSV with one column per ``step.field`` of the flow. Rows come from
the store in keyset batches, so memory stays flat however many calls the campaign has."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator, Sequence

from pydantic import BaseModel, Field

from flows.engine.json_types import JsonObject
from flows.spec.paths import FieldPath
from service.store.campaigns import ResultRow
from service.store.schema import RequestStatus

JSONL = "application/jsonl"
CSV = "text/csv"
FIXED_COLUMNS = ("call_id", "to", "status", "outcome", "ended_reason")


class ResultLine(BaseModel):
    """One line of the JSON Lines results."""

    call_id: str
    to: str
    status: RequestStatus = Field(description="the call's status")
    payload: JsonObject | None = Field(description="the result payload, once ended")


def wants_csv(accept: str | None) -> bool:
    return accept is not None and CSV in accept.lower()


async def jsonl(batches: AsyncIterator[list[ResultRow]]) -> AsyncIterator[bytes]:
    async for batch in batches:
        lines = [
            f'{{"call_id":{json.dumps(row.call_id)},"to":{json.dumps(row.to)},'
            f'"status":{json.dumps(row.status)},"payload":{row.payload or "null"}}}\n'
            for row in batch
        ]
        yield "".join(lines).encode()


async def csv_rows(
    batches: AsyncIterator[list[ResultRow]], field_paths: Sequence[FieldPath]
) -> AsyncIterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([*FIXED_COLUMNS, *map(str, field_paths)])
    async for batch in batches:
        for row in batch:
            writer.writerow(_csv_row(row, field_paths))
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():  # the header alone: a campaign without calls
        yield buffer.getvalue().encode()


def _csv_row(row: ResultRow, field_paths: Sequence[FieldPath]) -> list[str]:
    payload = json.loads(row.payload) if row.payload else {}
    results = payload.get("results") or {}
    cells = [
        row.call_id,
        row.to,
        row.status,
        payload.get("status") or "",
        payload.get("ended_reason") or "",
    ]
    for path in field_paths:
        cells.append(_cell((results.get(path.step) or {}).get(path.field)))
    return cells


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)
