"""/arxiv/api/v1/queries: the history of searches (public), one query, its papers and their export."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response, StreamingResponse

from dockyard.arxiv import papers, queries
from dockyard.arxiv.export import EXTENSIONS, MEDIA_TYPES, ExportFormat, bibtex_chunks, csv_chunks
from dockyard.arxiv.models import PaperList, QueryList, QueryPublic
from dockyard.arxiv.papers import PaperFilter, PaperOrder
from dockyard.core.db import Connection, ReadConn, translated_errors
from dockyard.core.errors import NotFound
from dockyard.core.like import contains_pattern
from dockyard.core.openapi import errors
from dockyard.core.responses import RawJSONResponse
from dockyard.core.types import Id

router = APIRouter(prefix="/queries")

NDJSON = "application/x-ndjson"


class HistoryFormat(StrEnum):
    json = "json"
    ndjson = "ndjson"


def unix(moment: datetime | None) -> int | None:
    """Unix seconds of `moment` (a time without offset is UTC)."""
    if moment is None:
        return None
    return int((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp())


Limit = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]


@router.get(
    "",
    summary="Recorded searches, newest first, with filters",
    response_model=QueryList,
    responses={
        200: {
            "content": {NDJSON: {"schema": {"type": "string"}}},
            "description": "`{count, results}`, or one query per line with format=ndjson.",
        },
        **errors(400),
    },
)
async def history(
    conn: ReadConn,
    request: Request,
    since: Annotated[
        datetime | None, Query(description="From this time (ISO 8601; UTC without offset).")
    ] = None,
    until: Annotated[datetime | None, Query(description="Before this time.")] = None,
    text: Annotated[str | None, Query(max_length=200, description="Part of the canonical query.")] = None,
    user: Annotated[Id | None, Query(description="Searches of this account id.")] = None,
    status: Annotated[
        int | None, Query(ge=-32768, le=32767, description="arXiv's HTTP status (200, or a legacy error).")
    ] = None,
    order: Annotated[str, Query(pattern="^(newest|oldest)$")] = "newest",
    limit: Limit = 50,
    offset: Offset = 0,
    format: HistoryFormat = HistoryFormat.json,
    download: Annotated[bool, Query(description="Answer as a file (Content-Disposition).")] = False,
) -> Response:
    """JSON pages with the total, or NDJSON (every match from `offset`, up to `limit` when given)."""
    wanted = queries.HistoryFilter(
        since=unix(since),
        until=unix(until),
        text=contains_pattern(text) if text else None,
        user_id=user,
        status=status,
    )
    ascending = order == "oldest"
    headers = {"Content-Disposition": f"attachment; filename=queries.{format.value}"} if download else {}
    if format is HistoryFormat.ndjson:
        most = limit if "limit" in request.query_params else None
        lines = await held_stream(
            request, lambda held: queries.history_lines(held, wanted, ascending=ascending, limit=most)
        )
        return StreamingResponse(lines, media_type=NDJSON, headers=headers)
    body = await queries.history_json(conn, wanted, ascending=ascending, limit=limit, offset=offset)
    return RawJSONResponse(body, headers=headers)


@router.get("/{query_id}", summary="One recorded search", response_model=QueryPublic, responses=errors(404))
async def one_query(query_id: Id, conn: ReadConn) -> Response:
    """The query as stored, with its canonical text and counts."""
    text = await queries.query_json(conn, query_id=query_id)
    if text is None:
        raise NotFound(f"No query has id {query_id}.")
    return RawJSONResponse(text)


async def _exists(conn: ReadConn, query_id: int) -> None:
    if await conn.fetchval("SELECT 1 FROM arxiv.queries WHERE id = $1", query_id) is None:
        raise NotFound(f"No query has id {query_id}.")


@router.get(
    "/{query_id}/papers",
    summary="The papers a search found, in arXiv's order",
    response_model=PaperList,
    responses=errors(404),
)
async def query_papers(query_id: Id, conn: ReadConn, limit: Limit = 50, offset: Offset = 0) -> Response:
    """Each paper with its `rank` (0-based position in arXiv's answer), and the total."""
    await _exists(conn, query_id)
    body = await papers.papers_json(
        conn,
        PaperFilter(query_id=query_id),
        order=PaperOrder.rank,
        limit=limit,
        offset=offset,
        cursor=None,
        with_count=True,
    )
    return RawJSONResponse(body)


EXPORT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "application/x-bibtex": {"schema": {"type": "string"}},
        },
        "description": "The papers as a CSV file (header row) or a BibTeX file (@misc entries).",
    }
}


async def held_stream(
    request: Request, produce: Callable[[Connection], AsyncIterator[bytes]]
) -> AsyncIterator[bytes]:
    """`produce` on a read connection taken now, so an outage is a 503 before anything is sent;
    the connection goes back to the pool when the stream ends, however it ends."""
    pool = request.app.state.db.read_pool()
    with translated_errors():
        conn = await pool.acquire()

    async def stream() -> AsyncIterator[bytes]:
        try:
            async for chunk in produce(conn):
                yield chunk
        finally:
            await pool.release(conn)

    return stream()


async def export_response(
    request: Request, wanted: PaperFilter, *, order: PaperOrder, format: ExportFormat, name: str
) -> StreamingResponse:
    """The papers matching `wanted` streamed as a `format` file called `name`."""
    papers.export_sql(wanted, order=order)  # refuses a bad combination before the stream starts

    def render(conn: Connection) -> AsyncIterator[bytes]:
        batches = papers.export_rows(conn, wanted, order=order)
        if format is ExportFormat.csv:
            return csv_chunks(batches, with_rank=wanted.query_id is not None)
        return bibtex_chunks(batches)

    return StreamingResponse(
        await held_stream(request, render),
        media_type=MEDIA_TYPES[format],
        headers={"Content-Disposition": f"attachment; filename={name}.{EXTENSIONS[format]}"},
    )


@router.get(
    "/{query_id}/export",
    summary="Export a search's papers as CSV or BibTeX",
    response_class=StreamingResponse,
    responses={**EXPORT_RESPONSES, **errors(404)},
)
async def export_query(
    query_id: Id, request: Request, conn: ReadConn, format: ExportFormat = ExportFormat.csv
) -> StreamingResponse:
    """In arXiv's order; the CSV starts with the `rank` column."""
    await _exists(conn, query_id)
    return await export_response(
        request,
        PaperFilter(query_id=query_id),
        order=PaperOrder.rank,
        format=format,
        name=f"query-{query_id}",
    )
