"""Starting a search: the per-account budget, the job record, and whether it runs now or queued."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import FastAPI

from dockyard.arxiv import jobs
from dockyard.arxiv.jobs import Runner
from dockyard.arxiv.settings import ArxivSettings
from dockyard.arxiv.store import Stored
from dockyard.arxiv.syntax import Request
from dockyard.core.db import translated_errors
from dockyard.core.errors import ServiceUnavailable


@dataclass(frozen=True)
class Started:
    """A search just asked for: its job, and its stored query when it ran at once."""

    job_id: int
    stored: Stored | None


async def spend_budget(app: FastAPI, settings: ArxivSettings, *, user_id: int) -> None:
    """Count one search against the caller's ARXIV_SEARCH_RATE; 429 once it is spent."""
    await app.state.auth.limiter.hit(
        "arxiv-search", settings.search_rate, str(user_id), what="arXiv searches"
    )


async def start_search(
    app: FastAPI, settings: ArxivSettings, request: Request, *, user_id: int | None, wait: bool = False
) -> Started:
    """Record the search as a job; run it now when it is one slice (or `wait`), else queue it.

    Run now, a failure is raised as the error the caller should see (and recorded on the job).
    """
    runner: Runner | None = getattr(app.state, "arxiv_runner", None)
    if runner is None:
        raise ServiceUnavailable("The arXiv client is not running in this process.")
    inline = wait or len(request.slices(settings.page_size)) == 1
    with translated_errors():
        async with runner.pool.acquire() as conn:
            job_id = await jobs.create(
                conn,
                request=request,
                user_id=user_id,
                page_size=settings.page_size,
                worker=runner.worker if inline else None,
            )
    if not inline:
        runner.wake()
        return Started(job_id, None)
    with translated_errors():
        stored = await runner.run_now(job_id, request, user_id)
    return Started(job_id, stored)
