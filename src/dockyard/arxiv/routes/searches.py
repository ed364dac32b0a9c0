"""/arxiv/api/v1/searches: ask for a search (an account with `arxiv.search`), follow its job."""

from __future__ import annotations

from fastapi import APIRouter, Request, status
from fastapi.responses import Response

from dockyard.arxiv import queries
from dockyard.arxiv.auth import Searcher
from dockyard.arxiv.models import SearchCreate, SearchJobPublic
from dockyard.arxiv.service import spend_budget, start_search
from dockyard.arxiv.settings import ArxivConfig
from dockyard.arxiv.syntax import QuerySyntaxError
from dockyard.core.db import ReadConn
from dockyard.core.errors import BadInput, NotFound
from dockyard.core.openapi import errors
from dockyard.core.responses import RawJSONResponse
from dockyard.core.types import Id

router = APIRouter(prefix="/searches")


def _job_url(job_id: int) -> str:
    return f"/arxiv/api/v1/searches/{job_id}"


@router.post(
    "",
    summary="Search arXiv and record the query and its results",
    status_code=status.HTTP_201_CREATED,
    response_model=SearchJobPublic,
    responses={
        202: {
            "description": "Queued: a search of several slices runs as a job; follow `Location`.",
            "model": SearchJobPublic,
        },
        **errors(400, 502, 504),
    },
)
async def create_search(
    request: Request, user: Searcher, settings: ArxivConfig, body: SearchCreate
) -> Response:
    """One slice (ARXIV_PAGE_SIZE results) runs now: 201 with the job `done` and its `query_id`.
    More runs as a job: 202 at once, then GET the job for its progress. Either way the whole search
    is stored in one transaction, or nothing is (a failed job says why)."""
    try:
        search = body.request()
    except QuerySyntaxError as exc:
        raise BadInput(f"The search cannot be sent to arXiv: {exc}.") from exc
    await spend_budget(request.app, settings, user_id=user.user_id)
    started = await start_search(request.app, settings, search, user_id=user.user_id)
    async with request.app.state.db.primary.acquire() as conn:
        text = await queries.job_json(conn, job_id=started.job_id, stall_after_s=settings.stall_after_s)
    return RawJSONResponse(
        text,
        status_code=status.HTTP_201_CREATED if started.stored is not None else status.HTTP_202_ACCEPTED,
        headers={"Location": _job_url(started.job_id)},
    )


@router.get(
    "/{job_id}",
    summary="A search's progress and outcome",
    response_model=SearchJobPublic,
    responses=errors(404),
)
async def get_search(job_id: Id, conn: ReadConn, settings: ArxivConfig) -> Response:
    """`queued`, `running` (slices and entries done), `stalled`, `done` (with `query_id`) or `failed`."""
    text = await queries.job_json(conn, job_id=job_id, stall_after_s=settings.stall_after_s)
    if text is None:
        raise NotFound(f"No search job has id {job_id}.")
    return RawJSONResponse(text)
