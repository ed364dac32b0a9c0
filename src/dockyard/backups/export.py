"""CSV exports of the backups lists (`?format=csv`, or `Accept: text/csv`), streamed from a cursor.

The export takes the list's filters and order; it holds every matching row from `offset`, up to
`limit` only when the request gives one (a JSON page's default size does not cut a file short). It
reads on the route's own `ReadConn`, which FastAPI releases after the response is sent (a request-
scoped dependency), so an outage is still a 503 before anything is sent. Text that a spreadsheet
would run as a formula is quoted.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import AsyncIterator, Sequence
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import Query, Request
from starlette.responses import StreamingResponse

from dockyard.backups import redaction
from dockyard.core.db import Connection

log = redaction.logger("dockyard.backups.export")

MEDIA_TYPE = "text/csv; charset=utf-8"
BATCH = 1000
FORMULA = ("=", "+", "-", "@", "\t", "\r")

Format = Annotated[
    Literal["json", "csv"] | None,
    Query(description="`csv`: every matching row as a CSV file (also chosen by `Accept: text/csv`)."),
]


def responses(what: str) -> dict[int | str, dict[str, Any]]:
    """`responses=` documenting the CSV alternative of a list's 200."""
    return {
        200: {
            "description": f"{what}: JSON, or with `format=csv` (or `Accept: text/csv`) a CSV file with a "
            "header row, holding every match from `offset` (up to `limit` when given).",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        }
    }


def wanted(request: Request, format: str | None) -> bool:
    """True when the caller asked for CSV: `format=csv`, or no `format` and an Accept naming only CSV."""
    if format is not None:
        return format == "csv"
    accept = request.headers.get("accept", "")
    return "text/csv" in accept and "json" not in accept


def cell(value: Any) -> Any:
    """A value as a CSV cell: times in ISO 8601, JSON as text, empty for null, formulas defused."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, str) and value.startswith(FORMULA):
        return "'" + value
    return value


def limit_given(request: Request, limit: int) -> int | None:
    """`limit` when the request names one, else None (every row)."""
    return limit if "limit" in request.query_params else None


def stream(
    conn: Connection,
    query: str,
    args: Sequence[Any],
    columns: Sequence[str],
    *,
    name: str,
) -> StreamingResponse:
    """The rows of `query` (which must select `columns`) as a CSV download called `name`.csv."""

    async def chunks() -> AsyncIterator[bytes]:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(columns)
        try:
            async with conn.transaction(readonly=True):
                rows = 0
                async for record in conn.cursor(query, *args, prefetch=BATCH):
                    writer.writerow([cell(record[column]) for column in columns])
                    rows += 1
                    if rows % BATCH == 0:
                        yield buffer.getvalue().encode()
                        buffer.seek(0)
                        buffer.truncate()
            yield buffer.getvalue().encode()
        except Exception:
            # The status is sent: the client sees a cut file; the log says why.
            log.exception("backups.export.failed", extra={"export": name})
            raise

    return StreamingResponse(
        chunks(),
        media_type=MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )
