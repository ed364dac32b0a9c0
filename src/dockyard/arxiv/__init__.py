"""arxiv: search arXiv and record every query and its results (specs/arxiv.md, docs/arxiv.md).

The legacy routes under /arxiv/ keep the shapes of the system this replaces (errors as
`{"detail": ...}`); /arxiv/api/v1 is the search API (problem+json). Reads are public; searching
needs `arxiv.search` and goes through the polite client (`client`), as a job (`jobs`).
"""

from __future__ import annotations

from dockyard.arxiv import jobs, seed
from dockyard.arxiv.auth import SEARCH
from dockyard.arxiv.commands import arxiv_app
from dockyard.arxiv.routes import router
from dockyard.arxiv.settings import ArxivSettings
from dockyard.core.errors import DRF_DETAIL
from dockyard.core.services import Link, Service

service = Service(
    name="arxiv",
    title="arXiv",
    description="Search arXiv politely and record every query and the papers it found.",
    router=router,
    prefix="/arxiv",
    links=(Link("API", "/docs#/arxiv"),),
    error_styles={"/arxiv": DRF_DETAIL, "/queries": DRF_DETAIL, "/results": DRF_DETAIL},
    lifespan=jobs.lifespan,
    seeder=seed.seed,
    permissions=(SEARCH,),
    settings=ArxivSettings,
    commands={"arxiv": arxiv_app},
)

__all__ = ["router", "service"]
