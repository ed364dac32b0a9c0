"""/arxiv/api/v1/papers: browse and search every stored paper (public), one paper, exports."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response, StreamingResponse

from dockyard.arxiv import papers, syntax
from dockyard.arxiv.atom import split_id
from dockyard.arxiv.export import ExportFormat
from dockyard.arxiv.models import PaperDetail, PaperList
from dockyard.arxiv.papers import PaperFilter, PaperOrder
from dockyard.arxiv.routes.history import EXPORT_RESPONSES, Limit, Offset, export_response
from dockyard.core.db import ReadConn
from dockyard.core.errors import BadInput, NotFound
from dockyard.core.openapi import errors
from dockyard.core.responses import RawJSONResponse
from dockyard.core.types import Id

router = APIRouter(prefix="/papers")

Text = Annotated[str | None, Query(max_length=200)]
When = Annotated[datetime | None, Query(description="ISO 8601; UTC without offset.")]


def _utc(moment: datetime | None) -> datetime | None:
    return moment if moment is None or moment.tzinfo else moment.replace(tzinfo=UTC)


def paper_filter(
    query: Annotated[Id | None, Query(description="Papers found by this query id.")] = None,
    author: Annotated[str | None, Query(max_length=200, description="Words of an author's name.")] = None,
    category: Annotated[
        str | None, Query(max_length=50, description="An arXiv category, e.g. hep-th.")
    ] = None,
    text: Annotated[
        str | None,
        Query(max_length=200, description='Full-text search of titles and abstracts ("phrases", -not, or).'),
    ] = None,
    published_from: When = None,
    published_to: When = None,
    updated_from: When = None,
    updated_to: When = None,
) -> PaperFilter:
    """The filters of the papers routes, as query parameters."""
    return PaperFilter(
        query_id=query,
        author=author or None,
        category=category or None,
        text=text or None,
        published_from=_utc(published_from),
        published_to=_utc(published_to),
        updated_from=_utc(updated_from),
        updated_to=_utc(updated_to),
    )


Filter = Annotated[PaperFilter, Depends(paper_filter)]


@router.get("", summary="Browse and search stored papers", response_model=PaperList, responses=errors(400))
async def list_papers(
    conn: ReadConn,
    wanted: Filter,
    order: PaperOrder = PaperOrder.newest,
    limit: Limit = 50,
    offset: Offset = 0,
    cursor: Annotated[
        str | None, Query(max_length=40, description="`next_cursor` of the previous page.")
    ] = None,
    count: Annotated[
        bool, Query(description="Also count every match (exact; costs a pass over all matches).")
    ] = False,
) -> Response:
    """Newest first by default, then by id (a stable order); page by `next_cursor`, or by `offset`
    with `count=true` for the total."""
    body = await papers.papers_json(
        conn, wanted, order=order, limit=limit, offset=offset, cursor=cursor, with_count=count
    )
    return RawJSONResponse(body)


@router.get(
    "/export",
    summary="Export the filtered papers as CSV or BibTeX",
    response_class=StreamingResponse,
    responses={**EXPORT_RESPONSES, **errors(400)},
)
async def export_papers(
    request: Request,
    wanted: Filter,
    order: PaperOrder = PaperOrder.newest,
    format: ExportFormat = ExportFormat.csv,
) -> StreamingResponse:
    """Every paper matching the filters, streamed."""
    return await export_response(request, wanted, order=order, format=format, name="papers")


@router.get(
    "/{arxiv_id:path}",
    summary="One paper, with its stored versions and the queries that found it",
    response_model=PaperDetail,
    responses=errors(400, 404),
)
async def one_paper(
    conn: ReadConn,
    arxiv_id: Annotated[
        str, Path(max_length=64, description="2101.00001, 2101.00001v2 or hep-ex/0307015v1.")
    ],
) -> Response:
    """Without a version, the latest version stored."""
    try:
        syntax.check_id(arxiv_id)
    except syntax.QuerySyntaxError as exc:
        raise BadInput(str(exc)) from exc
    identifier, version = split_id(arxiv_id)
    text = await papers.paper_json(conn, arxiv_id=identifier, version=version)
    if text is None:
        raise NotFound(f"No stored paper is {arxiv_id}; search for it with id_list first.")
    return RawJSONResponse(text)
