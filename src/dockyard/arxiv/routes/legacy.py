"""The routes of the system this replaces, under /arxiv/, in its shapes (specs/arxiv.md §B.1).

Errors here are `{"detail": ...}` as that FastAPI app answered. Fixed on purpose (docs/arxiv.md):
searching needs an account with `arxiv.search`; zero hits answer 200; times are UTC (an explicit
offset is honoured); `max_results` is at most 2000 (one arXiv call); results are stably ordered.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from dockyard.arxiv import queries, syntax
from dockyard.arxiv.auth import Searcher
from dockyard.arxiv.models import LegacyQueryRange, LegacyQueryRecord, LegacyResult, LegacySearchAnswer
from dockyard.arxiv.service import spend_budget, start_search
from dockyard.arxiv.settings import ArxivConfig
from dockyard.core.db import ReadConn
from dockyard.core.errors import BadInput
from dockyard.core.openapi import errors
from dockyard.core.responses import RawJSONResponse

router = APIRouter(tags=["arxiv (legacy)"])

Value = Annotated[str | None, Query(min_length=1, max_length=300)]


@router.get(
    "/arxiv",
    summary="Search arXiv by author, title and journal, and record it",
    responses=errors(400, 502, 504),
)
async def search(
    request: Request,
    user: Searcher,
    settings: ArxivConfig,
    author: Value = None,
    title: Value = None,
    journal: Value = None,
    max_results: Annotated[int | None, Query(ge=1, le=2000)] = None,
) -> LegacySearchAnswer:
    """All given fields must match (AND); several words in one field must all appear in it."""
    parts = [(field, value) for field, value in (("au", author), ("ti", title), ("jr", journal)) if value]
    if not parts:
        raise BadInput("At least one search parameter must be provided (author, title or journal).")
    try:
        nodes = [syntax.term(field, value) for field, value in parts]
    except syntax.QuerySyntaxError as exc:
        raise BadInput(str(exc)) from exc
    node = syntax.Group(nodes[0], tuple(("AND", item) for item in nodes[1:]))
    wanted = max_results or settings.legacy_max_results
    await spend_budget(request.app, settings, user_id=user.user_id)
    started = await start_search(
        request.app,
        settings,
        syntax.Request(syntax.render(node), (), 0, wanted),
        user_id=user.user_id,
        wait=True,
    )
    assert started.stored is not None
    stored = started.stored
    return LegacySearchAnswer(
        timestamp=float(stored.timestamp),
        status=stored.status,
        num_results=stored.total_results,
        num_entries=stored.entries,
    )


def unix_time(text: str, name: str) -> int:
    """Unix seconds of `text`: YYYY-MM-DDTHH:MM:SS in UTC, or any ISO 8601 time with an offset."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise BadInput(
            f"{name} must be a time like 2024-05-01T00:00:00 (UTC) or 2024-05-01T02:00:00+02:00, not {text!r}"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


async def _records(conn: ReadConn, start: str | None, end: str | None) -> str:
    if start is None:
        raise BadInput("Required parameter missing: start_timestamp")
    first = unix_time(start, "start_timestamp")
    last = unix_time(end, "end_timestamp") if end is not None else None
    return await queries.legacy_queries_json(conn, start=first, end=last)


@router.get(
    "/queries",
    summary="Recorded queries in a time range, as the file query_data.json",
    response_model=list[LegacyQueryRecord],
    responses=errors(400),
)
async def queries_file(
    conn: ReadConn,
    start_timestamp: Annotated[str | None, Query(max_length=64, examples=["2024-05-01T00:00:00"])] = None,
    end_timestamp: Annotated[str | None, Query(max_length=64, examples=["2024-05-31T23:59:59"])] = None,
) -> Response:
    """Oldest first; times are UTC (YYYY-MM-DDTHH:MM:SS) unless they carry an offset."""
    return RawJSONResponse(
        await _records(conn, start_timestamp, end_timestamp),
        headers={"Content-Disposition": "attachment; filename=query_data.json"},
    )


@router.post(
    "/queries",
    summary="Recorded queries in a time range, as JSON",
    response_model=list[LegacyQueryRecord],
    responses=errors(400),
)
async def queries_json(conn: ReadConn, body: LegacyQueryRange) -> Response:
    """The same records as GET /arxiv/queries, in the response body."""
    return RawJSONResponse(await _records(conn, body.start_timestamp, body.end_timestamp))


@router.get("/results", summary="Every stored result, a page at a time", response_model=list[LegacyResult])
async def results(
    conn: ReadConn,
    settings: ArxivConfig,
    page: Annotated[int, Query(ge=0, le=10_000_000, description="0-based.")] = 0,
    items_per_page: Annotated[int | None, Query(ge=1, le=1000)] = None,
) -> Response:
    """Author, title and journal of each stored result, in the order they were stored."""
    size = items_per_page or settings.legacy_items_per_page
    return RawJSONResponse(await queries.legacy_results_json(conn, page=page, items_per_page=size))
