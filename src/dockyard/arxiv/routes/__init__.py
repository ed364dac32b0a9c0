"""The arxiv service's routes: the legacy ones at the top, the search API under /api/v1."""

from __future__ import annotations

from fastapi import APIRouter

from dockyard.arxiv.routes import history, legacy, papers, searches

api = APIRouter(prefix="/api/v1", tags=["arxiv"])
api.include_router(searches.router)
api.include_router(history.router)
api.include_router(papers.router)

router = APIRouter()
router.include_router(legacy.router)
router.include_router(api)

__all__ = ["router"]
